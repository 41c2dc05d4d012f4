import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectJson } from '../shared/wire.js';
import { createProject } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type Cast, castOrg } from './support/governance.js';
import { type RedisProcess, startRedis } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, eventually, nextEvent, ok, recordBoardEvents } from './support/sockets.js';

// Deployments that share one Redis server, each on a database number of its own (as their keys
// are): Redis's pub/sub ignores that number, so the adapter's channels must carry it, or a staging
// deployment restored from production's backup, with the same org and board ids, hears
// production's events.

let redis: RedisProcess;
let production: TestDatabase;
let staging: TestDatabase;
const nodes: RunningServer[] = [];
let cast: Cast;
let project: ProjectJson;

beforeAll(async () => {
  redis = await startRedis();
  production = await createTestDatabase();
  const first = await startServer({ DATABASE_URL: production.url });
  cast = await castOrg(first.url);
  ({ project } = await createProject(first.url, cast.org));
  await first.close();
  staging = await createTestDatabase(production); // the restored backup: the same users, org and board
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  await Promise.all(nodes.map((node) => node.close()));
  await redis?.stop();
  await production?.drop();
  await staging?.drop();
});

async function node(db: TestDatabase, redisDb: number): Promise<RunningServer> {
  const started = await startServer({ DATABASE_URL: db.url, REDIS_URL: `${redis.url}/${redisDb}` });
  nodes.push(started);
  return started;
}

describe('two deployments on one Redis server, each on a database number of its own', () => {
  it('hear only their own nodes, though their org and board ids are the same', async () => {
    const [productionA, productionB, stagingA, stagingB] = await Promise.all([
      node(production, 1),
      node(production, 1),
      node(staging, 2),
      node(staging, 2),
    ]);
    const [writer, productionViewer, stagingWriter, stagingViewer] = await Promise.all(
      [productionA, productionB, stagingB, stagingA].map((at) => connect(at.url, { token: cast.owner.token })),
    );
    for (const socket of [productionViewer, stagingViewer]) await ok(socket, 'board:join', { projectId: project.id });
    const heardOnStaging = recordBoardEvents(stagingViewer);
    const [todo] = (await ok(writer, 'board:join', { projectId: project.id })).columns;

    const heard = nextEvent(productionViewer, 'board:event');
    await ok(writer, 'task:create', { projectId: project.id, columnId: todo.id, title: 'only for production' });
    expect((await heard).data.task.title).toBe('only for production'); // published: production's other node heard it
    // Then staging publishes on its own channel. Redis hands a subscriber its messages in the order
    // it took them, so staging's node A, once it hears this, would have heard production's before.
    await ok(stagingWriter, 'task:create', { projectId: project.id, columnId: todo.id, title: 'staging marker' });
    await eventually(() => expect(heardOnStaging).toHaveLength(1));
    expect(heardOnStaging.map((event) => (event.data as { task: { title: string } }).task.title)).toEqual(['staging marker']);
  });
});

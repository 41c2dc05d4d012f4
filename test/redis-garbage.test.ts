import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrg, createProject, registerUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RedisProcess, startRedis } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, eventually, nextEvent, ok } from './support/sockets.js';

// Whoever can publish on the adapter's Redis channels (a neighbour misconfigured onto them, a
// tool) can put anything there. A message no node sent must be dropped, not end every node at once.
let redis: RedisProcess;
let publisher: Redis;
let db: TestDatabase;
const nodes: RunningServer[] = [];
const logged: string[] = [];

beforeAll(async () => {
  redis = await startRedis();
  publisher = new Redis(redis.url);
  db = await createTestDatabase();
  for (let i = 0; i < 2; i++)
    nodes.push(
      await startServer(
        { DATABASE_URL: db.url, REDIS_URL: redis.url, LOG_LEVEL: 'warn' },
        { logStream: { write: (line) => logged.push(line) } },
      ),
    );
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  publisher?.disconnect();
  await Promise.all(nodes.map((node) => node.close()));
  await redis?.stop();
  await db?.drop();
});

describe('a message on the adapter channels that no node sent', () => {
  it('is logged and dropped by every node, which go on relaying each other’s events', async () => {
    const [a, b] = nodes as [RunningServer, RunningServer];
    const owner = await registerUser(a.url, 'owner');
    const org = await createOrg(a.url, owner);
    const { project, columns } = await createProject(a.url, org);
    const writer = await connect(a.url, { token: owner.token });
    const viewer = await connect(b.url, { token: owner.token });
    await ok(viewer, 'board:join', { projectId: project.id });

    // Before: the first ended both processes (the adapter's decoder threw in ioredis's data
    // handler); the second, an inter-node order with no room, was an unhandled rejection.
    await publisher.publish('taskflow:db0#/#', 'hello');
    await publisher.publish('taskflow:db0-request#/#', JSON.stringify({ uid: 'nobody', type: 6, data: ['revoke', null] }));
    await publisher.publish('taskflow:db0-request#/#', JSON.stringify({ uid: 'nobody', type: 6, data: ['admit', null] }));
    // The text the adapter cannot read, once on each node; the orders with no room are no orders, ignored.
    await eventually(() => expect(logged.filter((line) => line.includes('dropped a message on the redis channels'))).toHaveLength(2));

    const heard = nextEvent(viewer, 'board:event');
    await ok(writer, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'After the noise' });
    expect((await heard).data.task.title).toBe('After the noise');
    // A socket that connects now applies what its node took as orders while it connected: no null one among them.
    for (const url of [a.url, b.url]) await ok(await connect(url, { token: owner.token }), 'board:join', { projectId: project.id });
    expect(logged.filter((line) => line.includes('dropped a message on the redis channels'))).toHaveLength(2);
  });
});

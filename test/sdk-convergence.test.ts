import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { BoardState, TaskFlowClient } from '../client/index.js';
import type { ProjectJson } from '../shared/wire.js';
import { addMember, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RedisProcess, startRedis } from './support/processes.js';
import {
  CONCURRENCY_REFUSALS,
  closeAllClients,
  expectConverged,
  type OpRecord,
  openClient,
  runWorkload,
  seeded,
  sharedPositions,
} from './support/sdk.js';
import { type RunningServer, startServer } from './support/server.js';

// Six SDK clients, three on each of two in-process nodes that share one database and one Redis of
// the test's own (the machine's Redis is shared by parallel suites, on the adapter's default channels).
const CLIENTS = 6;
const OPS = 30;

let db: TestDatabase;
let redis: RedisProcess | undefined;
let node1: RunningServer | undefined;
let node2: RunningServer | undefined;
let org: TestOrg;
let users: TestUser[];
let project: ProjectJson;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await startRedis();
  node1 = await startServer({ DATABASE_URL: db.url, REDIS_URL: redis.url });
  node2 = await startServer({ DATABASE_URL: db.url, REDIS_URL: redis.url });
  const owner = await registerUser(node1.url, 'owner');
  org = await createOrg(node1.url, owner);
  users = [owner];
  for (let i = 1; i < CLIENTS; i++) {
    const user = await registerUser(i % 2 ? node2.url : node1.url, `user${i}`);
    await addMember(node1.url, org, user, i === 1 ? 'admin' : 'member');
    users.push(user);
  }
  ({ project } = await createProject(node2.url, org));
}, 60_000);

afterAll(async () => {
  closeAllClients();
  await Promise.all([node1?.close(), node2?.close()]);
  await redis?.stop();
  await db?.drop();
});

describe('SDK clients on two nodes', () => {
  it('converge on the board PostgreSQL holds after 180 concurrent creates, moves, updates and deletes', async () => {
    const seed = Number(process.env.SDK_SEED ?? Date.now() % 1_000_000);
    onTestFailed(() => console.error(`replay this workload with SDK_SEED=${seed}`));
    const nodes = [node1!.url, node2!.url];
    const joined: Array<{ name: string; client: TaskFlowClient; board: BoardState }> = [];
    for (const [i, user] of users.entries()) {
      // Each client starts on its own node and knows the other one as a fallback.
      const { client } = openClient(i % 2 ? [nodes[1]!, nodes[0]!] : nodes, { token: user.token });
      await client.connect();
      joined.push({ name: `client ${i}`, client, board: await client.joinBoard(project.id) });
    }

    const results: OpRecord[][] = await Promise.all(
      joined.map(({ client, board }, i) => runWorkload(client, board, { ops: OPS, random: seeded(seed * 31 + i), name: `c${i}` })),
    );

    const all = results.flat();
    const unexpected = all.filter((r) => r.outcome !== 'ok' && !CONCURRENCY_REFUSALS.has(r.outcome!));
    expect(unexpected, `seed ${seed}`).toEqual([]);
    expect(all.every((r) => r.settled)).toBe(true);
    // The run did real work: most creates and a fair share of the other changes were accepted.
    const accepted = (kind: OpRecord['kind']) => all.filter((r) => r.kind === kind && r.outcome === 'ok').length;
    expect(accepted('create'), `seed ${seed}`).toBeGreaterThan(20);
    expect(accepted('move-within') + accepted('move-across'), `seed ${seed}`).toBeGreaterThan(20);

    const server = await expectConverged(db, node1!.url, org, project.id, joined);

    // Every accepted create is on the board or was deleted by an accepted delete, and no title twice.
    const created = await db.query<{ title: string; n: number }>(
      `select payload->'task'->>'title' as title, count(*)::int as n from board_events
        where project_id = $1 and type = 'task.created' group by 1`,
      [project.id],
    );
    expect(created.filter((row) => row.n !== 1)).toEqual([]);
    expect(created.map((row) => row.title).sort()).toEqual(
      all
        .filter((r) => r.kind === 'create' && r.outcome === 'ok')
        .map((r) => r.title)
        .sort(),
    );
    const deletes = await db.query<{ n: number }>(
      `select count(*)::int as n from board_events where project_id = $1 and type = 'task.deleted'`,
      [project.id],
    );
    expect(server.tasks).toHaveLength(created.length - deletes[0]!.n);
  }, 60_000);

  // Clients name neighbours from their own view of the board, which a teammate's change may have
  // made stale: afterId and beforeId need not be adjacent any more when the move lands.
  it('leaves no two tasks of a column on the same position after that run', async () => {
    const [row] = await db.query<{ n: number }>('select count(*)::int as n from tasks where project_id = $1', [project.id]);
    expect(row!.n, 'tasks the run above left').toBeGreaterThanOrEqual(2);
    expect(await sharedPositions(db, project.id)).toEqual([]);
  });

  it('places a move between neighbours that a teammate has just separated without taking that teammate’s position', async () => {
    const { client: ana } = openClient(node1!.url, { token: users[2]!.token });
    const { client: ben } = openClient(node2!.url, { token: users[3]!.token });
    await Promise.all([ana.connect(), ben.connect()]);
    const { project: fresh } = await createProject(node1!.url, org, 'Fresh board');
    const board = await ana.joinBoard(fresh.id);
    await ben.joinBoard(fresh.id);
    const column = board.orderedColumns()[1]!.id;
    const { task: x } = await ana.createTask({ projectId: fresh.id, columnId: column, title: 'x' });
    const { task: y } = await ana.createTask({ projectId: fresh.id, columnId: column, title: 'y' });
    const { task: w } = await ana.createTask({ projectId: fresh.id, columnId: board.orderedColumns()[0]!.id, title: 'w' });
    // Ana saw x and y side by side; Ben puts z between them before Ana's move lands.
    const adjacent = board.tasksIn(column).map((t) => t.title);
    const { task: z } = await ben.createTask({ projectId: fresh.id, columnId: column, title: 'z', afterId: x.id });
    const { task: moved } = await ana.moveTask({ taskId: w.id, columnId: column, afterId: x.id, beforeId: y.id });
    expect(adjacent).toEqual(['x', 'y']);
    expect(moved.position, `z is at ${z.position}`).not.toBe(z.position);
    expect(await sharedPositions(db, fresh.id)).toEqual([]);
    await expectConverged(db, node2!.url, org, fresh.id, [
      { name: 'ana', client: ana },
      { name: 'ben', client: ben },
    ]);
  });
});

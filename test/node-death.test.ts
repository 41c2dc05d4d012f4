import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { addMember, createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { describeChildren, type RedisProcess, type ServerProcess, startTwoNodes } from './support/processes.js';
import { closeAllSockets, connect, eventually, nextEvent, ok } from './support/sockets.js';

// A node killed while its change waits on the board's row: PostgreSQL must not commit the change
// once the row is free, with no node left to broadcast it or answer it. Its client retries on the
// other node, which makes the change there and broadcasts it.
let db: TestDatabase;
let redis: RedisProcess | undefined;
let node1: ServerProcess | undefined;
let node2: ServerProcess | undefined;
let alice: TestUser;
let bob: TestUser;
let project: ProjectJson;
let columns: ColumnJson[];

beforeAll(async () => {
  db = await createTestDatabase();
  ({ redis, node1, node2 } = await startTwoNodes(db.url));
  [alice, bob] = [await registerUser(node2.url, 'alice'), await registerUser(node2.url, 'bob')];
  const org = await createOrg(node2.url, alice);
  await addMember(node2.url, org, bob, 'viewer');
  ({ project, columns } = await createProject(node2.url, org));
}, 120_000);

afterAll(async () => {
  closeAllSockets();
  await Promise.all([node1?.stop(), node2?.stop()]);
  await redis?.stop();
  await db?.drop();
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`child process output:\n${describeChildren([node1, node2, redis])}`));
});

describe('a node killed while its change waits for the board', () => {
  it('leaves the change unmade, so that its retry on another node makes it and every viewer hears it', async () => {
    const writer = await connect(node2!.url, { token: alice.token });
    const { task } = await ok<{ task: TaskJson }>(writer, 'task:create', {
      projectId: project.id,
      columnId: columns[0]!.id,
      title: 'Before',
    });
    const viewer = await connect(node2!.url, { token: bob.token });
    await ok(viewer, 'board:join', { projectId: project.id });
    const change = { taskId: task.id, patch: { title: 'After' }, clientMutationId: 'made-once' };

    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    try {
      const doomed = await connect(node1!.url, { token: alice.token });
      doomed.emit('task:update', change, () => {});
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      await node1!.kill();
      // PostgreSQL notices its client is gone and ends the statement, instead of running it once the row is free.
      await eventually(async () => expect(await lockWaiters(db)).toBe(0), 10_000);
    } finally {
      await release();
    }
    expect(await db.query('select seq from board_events where client_mutation_id = $1', [change.clientMutationId])).toEqual([]);

    const heard = nextEvent<BoardEventJson>(viewer, 'board:event', (event) => event.clientMutationId === change.clientMutationId);
    const retried = await ok(writer, 'task:update', change);
    expect(retried.task.title).toBe('After');
    expect(await heard).toEqual(retried.event);
  }, 60_000);
});

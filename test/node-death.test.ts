import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { addMember, createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { holdLock, lockWaiters } from './support/database.js';
import { closeAllSockets, connect, eventually, nextEvent, ok } from './support/sockets.js';
import { useTwoNodes } from './support/two-nodes.js';

// A node killed while its change waits on the board's row: PostgreSQL must not commit the change
// once the row is free, with no node left to broadcast it or answer it. Its client retries on the
// other node, which makes the change there and broadcasts it.
const cluster = useTwoNodes();
let alice: TestUser;
let bob: TestUser;
let project: ProjectJson;
let columns: ColumnJson[];

beforeAll(async () => {
  const { node2 } = cluster;
  [alice, bob] = [await registerUser(node2.url, 'alice'), await registerUser(node2.url, 'bob')];
  const org = await createOrg(node2.url, alice);
  await addMember(node2.url, org, bob, 'viewer');
  ({ project, columns } = await createProject(node2.url, org));
});

afterAll(() => closeAllSockets());

describe('a node killed while its change waits for the board', () => {
  it('leaves the change unmade, so that its retry on another node makes it and every viewer hears it', async () => {
    const writer = await connect(cluster.node2.url, { token: alice.token });
    const { task } = await ok<{ task: TaskJson }>(writer, 'task:create', {
      projectId: project.id,
      columnId: columns[0]!.id,
      title: 'Before',
    });
    const viewer = await connect(cluster.node2.url, { token: bob.token });
    await ok(viewer, 'board:join', { projectId: project.id });
    const change = { taskId: task.id, patch: { title: 'After' }, clientMutationId: 'made-once' };

    const release = await holdLock(cluster.db, `select 1 from projects where id = '${project.id}' for update`);
    try {
      const doomed = await connect(cluster.node1.url, { token: alice.token });
      doomed.emit('task:update', change, () => {});
      await eventually(async () => expect(await lockWaiters(cluster.db)).toBe(1));
      await cluster.node1.kill();
      // PostgreSQL notices its client is gone and ends the statement, instead of running it once the row is free.
      await eventually(async () => expect(await lockWaiters(cluster.db)).toBe(0), 10_000);
    } finally {
      await release();
    }
    expect(await cluster.db.query('select seq from board_events where client_mutation_id = $1', [change.clientMutationId])).toEqual([]);

    const heard = nextEvent<BoardEventJson>(viewer, 'board:event', (event) => event.clientMutationId === change.clientMutationId);
    const retried = await ok(writer, 'task:update', change);
    expect(retried.task.title).toBe('After');
    expect(await heard).toEqual(retried.event);
  }, 60_000);
});

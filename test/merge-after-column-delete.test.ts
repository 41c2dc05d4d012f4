import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { addMember, createOrg, createProject, registerUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, nextEvent, ok, request } from './support/sockets.js';

// Deleting a column with `moveTasksTo` bumps its tasks' versions under a `column.deleted` event:
// a later change based on an older version must be judged by what that move changed (the task's
// column and position), as after a `task:move` (DESIGN §7).
let db: TestDatabase;
let node: RunningServer;
let project: ProjectJson;
let columns: ColumnJson[];
let aliceSocket: ClientSocket;
let bobSocket: ClientSocket;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  const alice = await registerUser(node.url, 'alice');
  const bob = await registerUser(node.url, 'bob');
  const org = await createOrg(node.url, alice);
  await addMember(node.url, org, bob, 'member');
  ({ project, columns } = await createProject(node.url, org));
  aliceSocket = await connect(node.url, { token: alice.token });
  bobSocket = await connect(node.url, { token: bob.token });
  for (const socket of [aliceSocket, bobSocket]) await ok(socket, 'board:join', { projectId: project.id });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

/** A task in a new column, and that column deleted with its tasks moved to "In progress" by Bob. */
async function taskMovedByColumnDelete(title: string, before?: (task: TaskJson) => Promise<void>): Promise<TaskJson> {
  const { column } = await ok(bobSocket, 'column:create', { projectId: project.id, name: `Doomed ${title}` });
  const { task } = await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: column.id, title });
  await before?.(task);
  const deleted = await ok(bobSocket, 'column:delete', { columnId: column.id, moveTasksTo: columns[1]!.id });
  const moved = (deleted.event.data.tasks as TaskJson[]).find((t) => t.id === task.id)!;
  expect(moved.version).toBeGreaterThan(task.version);
  return task;
}

const row = async (taskId: string) => (await db.query('select title, priority, column_id, version from tasks where id = $1', [taskId]))[0];

describe('a change based on a version before a column delete moved the task', () => {
  it('merges an edit of the title, which the delete did not change, and refuses a move, which sets what it did', async () => {
    const task = await taskMovedByColumnDelete('Keep my title');
    const seen = nextEvent<BoardEventJson<any>>(bobSocket, 'board:event', (e) => e.type === 'task.updated' && e.data.task.id === task.id);
    const merged = await ok(aliceSocket, 'task:update', { taskId: task.id, patch: { title: 'Edited' }, baseVersion: task.version });
    expect(merged.task).toMatchObject({ title: 'Edited', columnId: columns[1]!.id, version: task.version + 2 });
    expect(merged.event.data.changed).toEqual(['title']);
    expect(await row(task.id)).toEqual({ title: 'Edited', priority: 0, column_id: columns[1]!.id, version: task.version + 2 });
    expect((await seen).data).toEqual(merged.event.data);

    const stale = await request(aliceSocket, 'task:move', { taskId: task.id, columnId: columns[2]!.id, baseVersion: task.version });
    expect(stale).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT', details: { task: { columnId: columns[1]!.id }, fields: ['columnId', 'position'] } },
    });
    expect(await row(task.id)).toMatchObject({ column_id: columns[1]!.id, version: task.version + 2 });
  });

  it('still refuses a title edit when someone else changed the title too, and merges the other fields', async () => {
    const task = await taskMovedByColumnDelete('Contested', async (t) => {
      await ok(bobSocket, 'task:update', { taskId: t.id, patch: { title: 'Bob renamed it' }, baseVersion: t.version });
    });
    const stale = await request(aliceSocket, 'task:update', {
      taskId: task.id,
      patch: { title: 'Alice renamed it' },
      baseVersion: task.version,
    });
    expect(stale).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT', details: { task: { title: 'Bob renamed it' }, fields: ['title'] } },
    });
    const merged = await ok(aliceSocket, 'task:update', { taskId: task.id, patch: { priority: 3 }, baseVersion: task.version });
    expect(merged.task).toMatchObject({ title: 'Bob renamed it', priority: 3, columnId: columns[1]!.id, version: task.version + 3 });
    expect(await row(task.id)).toEqual({ title: 'Bob renamed it', priority: 3, column_id: columns[1]!.id, version: task.version + 3 });
  });
});

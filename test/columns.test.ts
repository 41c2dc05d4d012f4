import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, ProjectJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, nextEvent, ok, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let alice: TestUser;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];
let aliceSocket: ClientSocket;
let bobSocket: ClientSocket;
let veraSocket: ClientSocket;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  alice = await registerUser(node.url, 'alice');
  const bob = await registerUser(node.url, 'bob');
  const vera = await registerUser(node.url, 'vera');
  org = await createOrg(node.url, alice);
  await addMember(node.url, org, bob, 'member');
  await addMember(node.url, org, vera, 'viewer');
  ({ project, columns } = await createProject(node.url, org));
  aliceSocket = await connect(node.url, { token: alice.token });
  bobSocket = await connect(node.url, { token: bob.token });
  veraSocket = await connect(node.url, { token: vera.token });
  for (const socket of [aliceSocket, bobSocket, veraSocket]) await ok(socket, 'board:join', { projectId: project.id });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

async function boardColumns(): Promise<string[]> {
  const rows = await db.query<{ name: string }>(`select name from board_columns where project_id = $1 order by position collate "C"`, [
    project.id,
  ]);
  return rows.map((row) => row.name);
}

describe('columns', () => {
  it('are created, renamed and moved, each change broadcast as a board event', async () => {
    const seen = nextEvent<BoardEventJson<any>>(bobSocket, 'board:event', (e) => e.type === 'column.created');
    const { column, event } = await ok(aliceSocket, 'column:create', { projectId: project.id, name: 'Review', afterId: columns[1]!.id });
    expect(event.type).toBe('column.created');
    expect((await seen).data.column).toEqual(column);
    expect(await boardColumns()).toEqual(['To do', 'In progress', 'Review', 'Done']);

    const renamed = nextEvent<BoardEventJson<any>>(bobSocket, 'board:event', (e) => e.type === 'column.updated');
    await ok(aliceSocket, 'column:update', { columnId: column.id, patch: { name: 'Code review' } });
    expect((await renamed).data).toMatchObject({ column: { id: column.id, name: 'Code review' }, changed: ['name'] });

    const moved = nextEvent<BoardEventJson<any>>(bobSocket, 'board:event', (e) => e.type === 'column.moved');
    await ok(aliceSocket, 'column:move', { columnId: column.id, beforeId: columns[0]!.id });
    expect((await moved).data.column.id).toBe(column.id);
    expect(await boardColumns()).toEqual(['Code review', 'To do', 'In progress', 'Done']);
  });

  it('refuses to delete a column that holds tasks unless its tasks have somewhere to go', async () => {
    const { column } = await ok(aliceSocket, 'column:create', { projectId: project.id, name: 'Doomed' });
    const first = (await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: column.id, title: 'first' })).task;
    const second = (await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: column.id, title: 'second' })).task;
    const refused = await request(aliceSocket, 'column:delete', { columnId: column.id });
    expect(refused).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    expect(await db.query('select count(*)::int as n from tasks where column_id = $1', [column.id])).toEqual([{ n: 2 }]);

    const done = columns[2]!;
    const seen = nextEvent<BoardEventJson<any>>(bobSocket, 'board:event', (e) => e.type === 'column.deleted');
    const deleted = await ok(aliceSocket, 'column:delete', { columnId: column.id, moveTasksTo: done.id });
    expect(deleted.event.data.tasks.map((t: any) => [t.id, t.columnId])).toEqual([
      [first.id, done.id],
      [second.id, done.id],
    ]);
    expect((await seen).data.tasks.every((t: any) => t.completedAt !== null)).toBe(true);
    const rows = await db.query<{ id: string }>(`select id from tasks where column_id = $1 order by position collate "C"`, [done.id]);
    expect(rows.map((r) => r.id).slice(-2)).toEqual([first.id, second.id]);
    expect(await db.query('select 1 from board_columns where id = $1', [column.id])).toEqual([]);
  });

  it('moves the tasks of a done column to the end of one not done, in order, each a version up with its labels and no completedAt', async () => {
    const { column } = await ok(aliceSocket, 'column:create', { projectId: project.id, name: 'Shipped' });
    await ok(aliceSocket, 'column:update', { columnId: column.id, patch: { isDone: true } });
    const label = (await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'shipped', color: '#0e8a16' }, alice.token)).body;
    const shipped = [];
    for (const title of ['one', 'two', 'three']) {
      const labelIds = title === 'two' ? [label.id] : [];
      shipped.push((await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: column.id, title, labelIds })).task);
    }
    expect(shipped.every((task) => task.completedAt !== null)).toBe(true);
    const todo = columns[0]!;
    const alreadyThere = (await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: todo.id, title: 'waiting' })).task;

    const deleted = await ok(aliceSocket, 'column:delete', { columnId: column.id, moveTasksTo: todo.id });

    const moved = deleted.event.data.tasks;
    expect(moved).toEqual(
      shipped.map((task) => ({
        ...task,
        columnId: todo.id,
        position: expect.any(String),
        version: task.version + 1,
        completedAt: null,
        updatedAt: expect.any(String),
      })),
    );
    expect(moved.every((task: { position: string }) => task.position > alreadyThere.position)).toBe(true);
    // Each as the board now reads it, in the order of its new place.
    const board = await ok(aliceSocket, 'board:join', { projectId: project.id });
    expect(board.tasks.filter((task: { columnId: string }) => task.columnId === todo.id).slice(-3)).toEqual(moved);
  });

  it('gives completedAt to the tasks it moves from a column marked done after they came into a done one, and keeps the times of the others', async () => {
    const { column } = await ok(aliceSocket, 'column:create', { projectId: project.id, name: 'Finishing' });
    const waited = (await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: column.id, title: 'waited' })).task;
    await ok(aliceSocket, 'column:update', { columnId: column.id, patch: { isDone: true } }); // leaves completedAt as it is
    const finished = (await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: column.id, title: 'finished' })).task;
    expect([waited.completedAt, finished.completedAt]).toEqual([null, expect.any(String)]);

    const deleted = await ok(aliceSocket, 'column:delete', { columnId: column.id, moveTasksTo: columns[2]!.id });

    const [movedWaited, movedFinished] = deleted.event.data.tasks;
    expect(movedWaited.completedAt).toEqual(expect.any(String));
    expect(movedFinished.completedAt).toBe(finished.completedAt);
  });

  it('deletes an empty column without a target', async () => {
    const { column } = await ok(aliceSocket, 'column:create', { projectId: project.id, name: 'Empty' });
    expect((await ok(aliceSocket, 'column:delete', { columnId: column.id })).event.type).toBe('column.deleted');
    expect(await db.query('select 1 from board_columns where id = $1', [column.id])).toEqual([]);
  });

  it('refuses a moveTasksTo that is not another column of the board, for an empty column as for one with tasks', async () => {
    const { column } = await ok(aliceSocket, 'column:create', { projectId: project.id, name: 'Empty, wrong target' });
    const otherBoard = await createProject(node.url, org, 'Another board');
    for (const [moveTasksTo, code, message] of [
      [otherBoard.columns[0]!.id, 'NOT_FOUND', 'moveTasksTo column not found'],
      [randomUUID(), 'NOT_FOUND', 'moveTasksTo column not found'],
      [column.id, 'VALIDATION_FAILED', 'moveTasksTo must be another column'],
    ] as const) {
      const refused = await request(aliceSocket, 'column:delete', { columnId: column.id, moveTasksTo });
      expect({ moveTasksTo, refused }).toMatchObject({ moveTasksTo, refused: { ok: false, error: { code, message } } });
    }
    expect(await db.query('select 1 from board_columns where id = $1', [column.id])).toHaveLength(1);
  });

  it('are not changed by a viewer', async () => {
    const refused = await request(veraSocket, 'column:create', { projectId: project.id, name: 'Nope' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const rename = await request(veraSocket, 'column:update', { columnId: columns[0]!.id, patch: { name: 'Mine' } });
    expect(rename).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await boardColumns()).not.toContain('Nope');
    expect(await boardColumns()).not.toContain('Mine');
  });
});

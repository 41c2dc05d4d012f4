import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '../shared/events.js';
import type { ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { addMember, createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, request } from './support/sockets.js';

// Retries of a change with a `clientMutationId` (DESIGN §7): a retry answers the original result,
// wherever it lands and however it races the first try; an id reused for a change of another task
// or column is CONFLICT, not answered with the first one's result.
//
// Three nodes on one database (no Redis: the answers, not the broadcasts, are judged here). Each
// node keeps its own turns of a board and its own running changes, so the first try, a teammate's
// change and the retry each meet the others only at the database, where the test orders them by
// the locks they wait for, never by time.
let db: TestDatabase;
let nodes: RunningServer[] = [];
let alice: TestUser;
let bob: TestUser;
let project: ProjectJson;
let columns: ColumnJson[];
/** Alice's first tries go to node 1, bob's changes to node 2, alice's retries to node 3. */
let alice1: ClientSocket;
let bob2: ClientSocket;
let alice3: ClientSocket;

beforeAll(async () => {
  db = await createTestDatabase();
  for (let i = 0; i < 3; i++) nodes.push(await startServer({ DATABASE_URL: db.url }));
  const url = nodes[0]!.url;
  [alice, bob] = await Promise.all([registerUser(url, 'alice'), registerUser(url, 'bob')]);
  const org = await createOrg(url, alice);
  await addMember(url, org, bob, 'member');
  ({ project, columns } = await createProject(url, org));
  alice1 = await connect(nodes[0]!.url, { token: alice.token });
  bob2 = await connect(nodes[1]!.url, { token: bob.token });
  alice3 = await connect(nodes[2]!.url, { token: alice.token });
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  await Promise.all(nodes.map((node) => node.close()));
  nodes = [];
  await db?.drop();
});

async function createTask(title: string, columnId = columns[0]!.id): Promise<TaskJson> {
  return (await ok(alice1, 'task:create', { projectId: project.id, columnId, title })).task;
}

async function boardSeq(): Promise<number> {
  return (await db.query<{ seq: number }>('select seq from projects where id = $1', [project.id]))[0]!.seq;
}

async function taskRow(taskId: string) {
  return (await db.query('select title, column_id, position, version from tasks where id = $1', [taskId]))[0];
}

async function eventsWith(clientMutationId: string) {
  return db.query('select seq, type from board_events where project_id = $1 and client_mutation_id = $2', [project.id, clientMutationId]);
}

async function noopRecords(clientMutationId: string) {
  return db.query('select type from board_noop_mutations where project_id = $1 and client_mutation_id = $2', [
    project.id,
    clientMutationId,
  ]);
}

/** A request under way, and whether it has been answered yet. */
function sent<T = any>(socket: ClientSocket, event: string, payload: unknown) {
  const pending = { answered: false, answer: request<T>(socket, event, payload) };
  pending.answer.then(
    () => (pending.answered = true),
    () => (pending.answered = true),
  );
  return pending;
}

/** Waits until `pending` is answered, or else until `waiters` sessions wait for a lock (it among them). */
async function answeredOrWaiting(pending: { answered: boolean }, waiters: number): Promise<void> {
  await eventually(async () => expect(pending.answered || (await lockWaiters(db)) === waiters).toBe(true));
}

/**
 * A change of alice's that changes nothing, with `clientMutationId`, is stopped on node 1 where it
 * keeps its no-op record (the test holds that table); bob changes the same task on node 2, and
 * alice's retry comes on node 3. Each goes through, or stops at a lock, before the next is sent.
 * Then the record's table is let go. Answers the three answers.
 */
async function raceNoopRetry(change: { event: string; payload: unknown }, teammate: { event: string; payload: unknown }) {
  const release = await holdLock(db, 'lock table board_noop_mutations in share mode'); // reads pass, writes wait
  try {
    const first = sent(alice1, change.event, change.payload);
    await eventually(async () => expect(await lockWaiters(db)).toBe(1));
    const theirs = sent(bob2, teammate.event, teammate.payload);
    await answeredOrWaiting(theirs, 2);
    const retry = sent(alice3, change.event, change.payload);
    await answeredOrWaiting(retry, theirs.answered ? 2 : 3);
    await release();
    return { first: await first.answer, theirs: await theirs.answer, retry: await retry.answer };
  } finally {
    await release().catch(() => {}); // already let go, unless the test failed before
  }
}

describe('a retry racing the first try of a change that changed nothing', () => {
  it('answers as the first try, from another node, and leaves a teammate’s later title alone (a plain update: the quick path)', async () => {
    const task = await createTask('mine');
    const seq = await boardSeq();
    const change = { event: 'task:update', payload: { taskId: task.id, patch: { title: 'mine' }, clientMutationId: 'race-update-1' } };
    const teammate = { event: 'task:update', payload: { taskId: task.id, patch: { title: 'theirs' } } };

    const { first, theirs, retry } = await raceNoopRetry(change, teammate);

    expect(first).toEqual({ ok: true, data: { task, event: null } });
    expect(retry).toEqual(first);
    expect(theirs).toMatchObject({ ok: true, data: { task: { title: 'theirs' }, event: { seq: seq + 1 } } });
    expect(await taskRow(task.id)).toMatchObject({ title: 'theirs', version: task.version + 1 });
    expect(await eventsWith('race-update-1')).toEqual([]);
    expect(await noopRecords('race-update-1')).toEqual([{ type: 'task.updated' }]);
    expect(await boardSeq()).toBe(seq + 1); // the no-op kept no seq: bob's change took the next
    // Once more, with nothing in the way: still the first answer.
    expect(await request(alice3, 'task:update', change.payload)).toEqual(first);
  });

  it('answers as the first try, from another node, and leaves a teammate’s later move alone (a move: the general path)', async () => {
    const { column: own } = await ok(alice1, 'column:create', { projectId: project.id, name: 'Race lane' });
    const task = await createTask('stay where I am', own.id); // alone, so already at the column's end
    const seq = await boardSeq();
    const change = { event: 'task:move', payload: { taskId: task.id, columnId: own.id, clientMutationId: 'race-move-1' } };
    const teammate = { event: 'task:move', payload: { taskId: task.id, columnId: columns[1]!.id } };

    const { first, theirs, retry } = await raceNoopRetry(change, teammate);

    expect(first).toEqual({ ok: true, data: { task, event: null } });
    expect(retry).toEqual(first);
    expect((theirs as Ack<{ task: TaskJson }>).ok).toBe(true);
    expect(await taskRow(task.id)).toMatchObject({ column_id: columns[1]!.id, version: task.version + 1 });
    expect(await eventsWith('race-move-1')).toEqual([]);
    expect(await noopRecords('race-move-1')).toEqual([{ type: 'task.moved' }]);
    expect(await boardSeq()).toBe(seq + 1);
  });
});

describe('a clientMutationId reused by its sender for the same kind of change elsewhere', () => {
  const reused = (what: string) => ({
    ok: false,
    error: { code: 'CONFLICT', message: `this clientMutationId was used for a change of another ${what}` },
  });

  it('is CONFLICT for a plain update of another task (the quick path), and changes neither task', async () => {
    const [a, b] = [await createTask('A'), await createTask('B')];
    const payload = { taskId: a.id, patch: { title: 'A renamed' }, clientMutationId: 'reuse-update-1' };
    const original = await ok(alice1, 'task:update', payload);
    const seq = await boardSeq();

    for (const socket of [alice1, alice3])
      expect(await request(socket, 'task:update', { ...payload, taskId: b.id, patch: { title: 'B renamed' } })).toEqual(reused('task'));

    expect(await taskRow(b.id)).toMatchObject({ title: 'B', version: b.version });
    expect(await taskRow(a.id)).toMatchObject({ title: 'A renamed', version: a.version + 1 });
    expect(await request(alice3, 'task:update', payload)).toEqual({ ok: true, data: original }); // its own retry still answers
    expect(await eventsWith('reuse-update-1')).toEqual([{ seq: original.event.seq, type: 'task.updated' }]);
    expect(await boardSeq()).toBe(seq);
  });

  it('is CONFLICT for a move of another task (the general path), and moves neither', async () => {
    const [a, b] = [await createTask('move A'), await createTask('move B')];
    const payload = { taskId: a.id, columnId: columns[1]!.id, clientMutationId: 'reuse-move-1' };
    const original = await ok(alice1, 'task:move', payload);
    const seq = await boardSeq();

    for (const socket of [alice1, alice3]) expect(await request(socket, 'task:move', { ...payload, taskId: b.id })).toEqual(reused('task'));

    expect(await taskRow(b.id)).toMatchObject({ column_id: columns[0]!.id, position: b.position, version: b.version });
    expect(await taskRow(a.id)).toMatchObject({ column_id: columns[1]!.id, version: a.version + 1 });
    expect(await request(alice3, 'task:move', payload)).toEqual({ ok: true, data: original });
    expect(await boardSeq()).toBe(seq);
  });

  it('is CONFLICT for an update of another task after a change that changed nothing, and changes neither', async () => {
    const [a, b] = [await createTask('same'), await createTask('other')];
    const payload = { taskId: a.id, patch: { title: 'same' }, clientMutationId: 'reuse-noop-1' };
    expect(await ok(alice1, 'task:update', payload)).toEqual({ task: a, event: null });
    const seq = await boardSeq();

    for (const socket of [alice1, alice3]) {
      expect(await request(socket, 'task:update', { ...payload, taskId: b.id, patch: { title: 'changed' } })).toEqual(reused('task'));
      // Not a plain update (labels go through the ORM): the general path judges it the same.
      expect(await request(socket, 'task:update', { ...payload, taskId: b.id, patch: { title: 'changed', labelIds: [] } })).toEqual(
        reused('task'),
      );
    }

    expect(await taskRow(b.id)).toMatchObject({ title: 'other', version: b.version });
    expect(await taskRow(a.id)).toMatchObject({ title: 'same', version: a.version });
    expect(await request(alice3, 'task:update', payload)).toEqual({ ok: true, data: { task: a, event: null } });
    expect(await eventsWith('reuse-noop-1')).toEqual([]);
    expect(await boardSeq()).toBe(seq);
  });

  it("is CONFLICT for another member's change under the id of a change that changed nothing, which is not dropped silently", async () => {
    const task = await createTask('kept');
    const payload = { taskId: task.id, patch: { title: 'kept' }, clientMutationId: 'noop-other-sender-1' };
    expect(await ok(alice1, 'task:update', payload)).toEqual({ task, event: null });

    const bobs = await request(bob2, 'task:update', { ...payload, patch: { title: 'bob was here' } });
    expect(bobs).toMatchObject({ ok: false, error: { code: 'CONFLICT', message: 'this clientMutationId was used for another change' } });
    expect(await taskRow(task.id)).toMatchObject({ title: 'kept', version: task.version });
    expect(await request(alice3, 'task:update', payload)).toEqual({ ok: true, data: { task, event: null } });
  });

  it('is CONFLICT for an update of another column, and renames neither', async () => {
    const { column: a } = await ok(alice1, 'column:create', { projectId: project.id, name: 'Column A' });
    const { column: b } = await ok(alice1, 'column:create', { projectId: project.id, name: 'Column B' });
    const payload = { columnId: a.id, patch: { name: 'Column A renamed' }, clientMutationId: 'reuse-column-1' };
    const original = await ok(alice1, 'column:update', payload);
    const seq = await boardSeq();

    for (const socket of [alice1, alice3])
      expect(await request(socket, 'column:update', { ...payload, columnId: b.id, patch: { name: 'Column B renamed' } })).toEqual(
        reused('column'),
      );

    const names = await db.query('select id, name from board_columns where id = any($1) order by name', [[a.id, b.id]]);
    expect(names).toEqual([
      { id: a.id, name: 'Column A renamed' },
      { id: b.id, name: 'Column B' },
    ]);
    expect(await request(alice3, 'column:update', payload)).toEqual({ ok: true, data: original });
    expect(await boardSeq()).toBe(seq);
  });
});

describe('the records of changes that changed nothing', () => {
  it('are dropped after a day on every board, an archived one too, by a node as it starts', async () => {
    const task = await createTask('kept as is');
    const change = (clientMutationId: string) => ({ taskId: task.id, patch: { title: 'kept as is' }, clientMutationId });
    await ok(alice1, 'task:update', change('noop-old'));
    await ok(alice1, 'task:update', change('noop-young'));
    await db.query(`update board_noop_mutations set created_at = now() - interval '25 hours' where client_mutation_id = 'noop-old'`);
    // Archived, the board makes no more no-ops: before, nothing dropped its last ones.
    await db.query(`update projects set status = 'archived' where id = $1`, [project.id]);
    try {
      nodes.push(await startServer({ DATABASE_URL: db.url }));
      await eventually(async () => expect(await noopRecords('noop-old')).toEqual([]));
      expect(await noopRecords('noop-young')).toEqual([{ type: 'task.updated' }]);
    } finally {
      await db.query(`update projects set status = 'active' where id = $1`, [project.id]);
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { barrier } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, nextEvent, ok, recordBoardEvents, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let alice: TestUser;
let bob: TestUser;
let vera: TestUser;
let project: ProjectJson;
let columns: ColumnJson[];
let aliceSocket: ClientSocket;
let bobSocket: ClientSocket;
let bobSeen: BoardEventJson[];
let aliceSeen: BoardEventJson[];

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  alice = await registerUser(node.url, 'alice');
  bob = await registerUser(node.url, 'bob');
  vera = await registerUser(node.url, 'vera');
  org = await createOrg(node.url, alice);
  await addMember(node.url, org, bob, 'member');
  await addMember(node.url, org, vera, 'viewer');
  ({ project, columns } = await createProject(node.url, org));
  aliceSocket = await connect(node.url, { token: alice.token });
  bobSocket = await connect(node.url, { token: bob.token });
  await ok(aliceSocket, 'board:join', { projectId: project.id });
  await ok(bobSocket, 'board:join', { projectId: project.id });
  aliceSeen = recordBoardEvents(aliceSocket);
  bobSeen = recordBoardEvents(bobSocket);
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

const [todo, doing, done] = [0, 1, 2].map((i) => () => columns[i]!);

async function create(title: string, extra: Record<string, unknown> = {}): Promise<TaskJson> {
  const { task } = await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: todo().id, title, ...extra });
  return task;
}

async function columnOrder(columnId: string): Promise<string[]> {
  const rows = await db.query<{ title: string }>(`select title from tasks where column_id = $1 order by position collate "C"`, [columnId]);
  return rows.map((row) => row.title);
}

describe('a task change on a shared board', () => {
  it('reaches the teammate with seq rising by one, the row in PostgreSQL, and no echo to the sender', async () => {
    const before = (await ok(aliceSocket, 'board:join', { projectId: project.id })).seq as number;
    const created = nextEvent<BoardEventJson<any>>(bobSocket, 'board:event', (e) => e.type === 'task.created');
    const { task, event } = await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: todo().id, title: 'Write spec' });
    expect(event.seq).toBe(before + 1);
    expect(task.updatedAt).toBe(task.createdAt); // made at one moment, never updated before it was created
    expect((await created).seq).toBe(before + 1);
    expect((await created).actor).toEqual({ kind: 'user', id: alice.user.id, name: 'alice' });

    const updated = nextEvent<BoardEventJson<any>>(bobSocket, 'board:event', (e) => e.type === 'task.updated');
    const update = await ok(aliceSocket, 'task:update', { taskId: task.id, patch: { title: 'Write the spec', priority: 3 } });
    expect(update.event.seq).toBe(before + 2);
    expect((await updated).data).toMatchObject({
      task: { id: task.id, title: 'Write the spec', version: 2 },
      changed: ['title', 'priority'],
    });

    const rows = await db.query('select title, priority, version from tasks where id = $1', [task.id]);
    expect(rows).toEqual([{ title: 'Write the spec', priority: 3, version: 2 }]);
    const events = await db.query('select seq, type from board_events where project_id = $1 and seq > $2 order by seq', [
      project.id,
      before,
    ]);
    expect(events).toEqual([
      { seq: before + 1, type: 'task.created' },
      { seq: before + 2, type: 'task.updated' },
    ]);
    await barrier(aliceSocket); // an echo to alice would have come before this answer
    expect(aliceSeen.filter((e) => e.seq > before)).toEqual([]);
    expect(bobSeen.filter((e) => e.seq > before).map((e) => e.seq)).toEqual([before + 1, before + 2]);
  });

  it('moves into a done column set completedAt, and moving out clears it', async () => {
    const task = await create('Ship it');
    const moved = await ok(bobSocket, 'task:move', { taskId: task.id, columnId: done().id });
    expect(moved.task.completedAt).not.toBeNull();
    expect(moved.event.data.changed).toEqual(['columnId', 'position', 'completedAt']);
    const back = await ok(bobSocket, 'task:move', { taskId: task.id, columnId: doing().id });
    expect(back.task.completedAt).toBeNull();
    expect(back.event.data.changed).toEqual(['columnId', 'position', 'completedAt']);
    const across = await ok(bobSocket, 'task:move', { taskId: task.id, columnId: todo().id }); // neither done
    expect(across.event.data.changed).toEqual(['columnId', 'position']);
    expect((await db.query('select completed_at from tasks where id = $1', [task.id]))[0]).toEqual({ completed_at: null });
  });

  it('keeps completedAt from one done column to another, and sets it there when the column it left was marked done after it came', async () => {
    const { column: later } = await ok(bobSocket, 'column:create', { projectId: project.id, name: 'Done later' });
    const { column: archive } = await ok(bobSocket, 'column:create', { projectId: project.id, name: 'Archive', isDone: true });
    try {
      const moved = await ok(bobSocket, 'task:move', { taskId: (await create('Waits')).id, columnId: later.id });
      await ok(bobSocket, 'column:update', { columnId: later.id, patch: { isDone: true } }); // leaves completedAt as it is
      expect((await db.query('select completed_at from tasks where id = $1', [moved.task.id]))[0]).toEqual({ completed_at: null });

      const entered = await ok(bobSocket, 'task:move', { taskId: moved.task.id, columnId: done().id });
      expect(entered.task.completedAt).toEqual(expect.any(String));
      expect(entered.event.data.changed).toEqual(['columnId', 'position', 'completedAt']);

      const kept = await ok(bobSocket, 'task:move', { taskId: moved.task.id, columnId: archive.id });
      expect(kept.task.completedAt).toBe(entered.task.completedAt);
      expect(kept.event.data.changed).toEqual(['columnId', 'position']);
    } finally {
      // The board's three columns again, for the tests after.
      for (const column of [archive, later]) await ok(bobSocket, 'column:delete', { columnId: column.id, moveTasksTo: done().id });
    }
  });

  it('places tasks between the named neighbours without renumbering the column', async () => {
    const column = (await ok(aliceSocket, 'board:join', { projectId: project.id })).columns[1] as ColumnJson;
    const place = async (title: string, at: Record<string, string>) => {
      const task = await create(title);
      return (await ok(aliceSocket, 'task:move', { taskId: task.id, columnId: column.id, ...at })).task as TaskJson;
    };
    await db.query('delete from tasks where column_id = $1', [column.id]);
    const a = await place('A', {});
    const c = await place('C', {});
    const b = await place('B', { afterId: a.id });
    const first = await place('first', { beforeId: a.id });
    await place('B2', { afterId: b.id, beforeId: c.id });
    expect(await columnOrder(column.id)).toEqual(['first', 'A', 'B', 'B2', 'C']);
    // A client saw A before B2; a teammate has since put B2 first. Between "A and B2" is then
    // right after A, as when a row was put between the two.
    const b2 = (await db.query<{ id: string }>(`select id from tasks where title = 'B2' and column_id = $1`, [column.id]))[0]!;
    await ok(aliceSocket, 'task:move', { taskId: b2.id, columnId: column.id, beforeId: first.id });
    await place('stale view', { afterId: a.id, beforeId: b2.id });
    expect(await columnOrder(column.id)).toEqual(['B2', 'first', 'A', 'stale view', 'B', 'C']);
    const positions = await db.query<{ id: string; position: string }>('select id, position from tasks where id = any($1)', [
      [a.id, c.id, first.id],
    ]);
    expect(Object.fromEntries(positions.map((p) => [p.id, p.position]))).toEqual({
      [a.id]: a.position,
      [c.id]: c.position,
      [first.id]: first.position,
    });
  });

  it('refuses neighbours that are not in the target column, and a task placed next to itself', async () => {
    const one = await create('one');
    const elsewhere = await create('elsewhere');
    await ok(aliceSocket, 'task:move', { taskId: elsewhere.id, columnId: done().id });
    const wrong = await request(aliceSocket, 'task:move', { taskId: one.id, columnId: doing().id, afterId: elsewhere.id });
    expect(wrong).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    const self = await request(aliceSocket, 'task:move', { taskId: one.id, columnId: todo().id, afterId: one.id });
    expect(self).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    const twice = await request(aliceSocket, 'task:move', {
      taskId: one.id,
      columnId: todo().id,
      afterId: elsewhere.id,
      beforeId: elsewhere.id,
    });
    expect(twice).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED', message: 'afterId and beforeId name the same row' } });
  });

  it('answers an update that changes nothing with the task as it is: no event, no new version', async () => {
    const task = await create('Same');
    const seqBefore = (await ok(aliceSocket, 'board:join', { projectId: project.id })).seq;
    const answer = await ok(aliceSocket, 'task:update', { taskId: task.id, patch: { title: 'Same' } });
    expect(answer.event).toBeNull();
    expect(answer.task.version).toBe(task.version);
    expect((await ok(aliceSocket, 'board:join', { projectId: project.id })).seq).toBe(seqBefore);
  });

  it('assigns only members of the org', async () => {
    const task = await create('Assign me');
    const assigned = await ok(aliceSocket, 'task:update', { taskId: task.id, patch: { assigneeId: bob.user.id } });
    expect(assigned.task.assigneeId).toBe(bob.user.id);
    const stranger = await registerUser(node.url, 'stranger');
    const refused = await request(aliceSocket, 'task:update', { taskId: task.id, patch: { assigneeId: stranger.user.id } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect((await db.query('select assignee_id from tasks where id = $1', [task.id]))[0]).toEqual({ assignee_id: bob.user.id });
  });

  it('merges changes to other fields and refuses a stale change to the same field with CONFLICT', async () => {
    const task = await create('Merge me');
    await ok(bobSocket, 'task:update', { taskId: task.id, patch: { title: 'Bob renamed it' }, baseVersion: 1 });
    const merged = await ok(aliceSocket, 'task:update', { taskId: task.id, patch: { priority: 2 }, baseVersion: 1 });
    expect(merged.task).toMatchObject({ title: 'Bob renamed it', priority: 2, version: 3 });
    const stale = await request(aliceSocket, 'task:update', { taskId: task.id, patch: { title: 'Alice renamed it' }, baseVersion: 1 });
    expect(stale).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { task: { title: 'Bob renamed it', version: 3 } } } });
    expect((await db.query('select title from tasks where id = $1', [task.id]))[0]).toEqual({ title: 'Bob renamed it' });
  });

  it('answers a move to the place a task or column already holds with no event and no new version', async () => {
    const first = await create('Stays first');
    const last = await create('Stays last');
    const board = await ok(aliceSocket, 'board:join', { projectId: project.id });
    const bobBefore = bobSeen.length;
    for (const place of [{}, { afterId: first.id }]) {
      const answer = await ok(aliceSocket, 'task:move', { taskId: last.id, columnId: todo().id, ...place });
      expect(answer).toEqual({ task: expect.objectContaining({ id: last.id, version: 1, position: last.position }), event: null });
    }
    const beforeLast = await ok(aliceSocket, 'task:move', { taskId: first.id, columnId: todo().id, beforeId: last.id });
    expect(beforeLast.event).toBeNull();
    const lastColumn = columns.at(-1)!;
    expect(await ok(aliceSocket, 'column:move', { columnId: lastColumn.id })).toEqual({ column: lastColumn, event: null });
    expect((await ok(aliceSocket, 'board:join', { projectId: project.id })).seq).toBe(board.seq);
    expect(await db.query('select version from tasks where id = any($1)', [[first.id, last.id]])).toEqual([{ version: 1 }, { version: 1 }]);

    const moved = await ok(aliceSocket, 'task:move', { taskId: last.id, columnId: todo().id, beforeId: first.id });
    expect(moved.event).toMatchObject({ seq: board.seq + 1, type: 'task.moved' });
    await ok(bobSocket, 'board:join', { projectId: project.id }); // a round trip: bob's events are in
    expect(bobSeen.slice(bobBefore).map((e) => e.seq)).toEqual([board.seq + 1]);
  });

  it('refuses a baseVersion the task never had with VALIDATION_FAILED, on update, move and delete, and changes nothing', async () => {
    const task = await create('At version 1');
    for (const [event, payload] of [
      ['task:update', { taskId: task.id, patch: { title: 'From the future' }, baseVersion: 2 }],
      ['task:move', { taskId: task.id, columnId: doing().id, baseVersion: 999 }],
      ['task:delete', { taskId: task.id, baseVersion: 2 }],
    ] as const) {
      const answer = await request(aliceSocket, event, payload);
      expect({ event, answer }).toMatchObject({ event, answer: { ok: false, error: { code: 'VALIDATION_FAILED' } } });
    }
    const overHttp = await api(node.url, 'PATCH', `/orgs/${org.slug}/tasks/${task.id}`, { title: 'x', baseVersion: 999 }, alice.token);
    expect({ status: overHttp.status, code: overHttp.body.error?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect(await db.query('select title, version, column_id from tasks where id = $1', [task.id])).toEqual([
      { title: 'At version 1', version: 1, column_id: todo().id },
    ]);
  });

  it("does not count the sender's own earlier changes as a conflict, only someone else's", async () => {
    const task = await create('Typed into');
    await ok(aliceSocket, 'task:update', { taskId: task.id, patch: { title: 'typing 1' }, baseVersion: 1 });
    const own = await ok(aliceSocket, 'task:update', { taskId: task.id, patch: { title: 'typing 12' }, baseVersion: 1 });
    expect(own.task).toMatchObject({ title: 'typing 12', version: 3 });
    await ok(bobSocket, 'task:update', { taskId: task.id, patch: { title: 'Bob typed' }, baseVersion: 3 });
    const stale = await request(aliceSocket, 'task:update', { taskId: task.id, patch: { title: 'typing 123' }, baseVersion: 3 });
    expect(stale).toMatchObject({ ok: false, error: { code: 'CONFLICT', details: { fields: ['title'] } } });
    expect((await db.query('select title from tasks where id = $1', [task.id]))[0]).toEqual({ title: 'Bob typed' });
  });

  it("deletes on a baseVersion from before the sender's own changes, and refuses one from before someone else's", async () => {
    const mine = await create('Edited, then deleted');
    await ok(aliceSocket, 'task:update', { taskId: mine.id, patch: { title: 'Edited once' }, baseVersion: 1 });
    await ok(aliceSocket, 'task:move', { taskId: mine.id, columnId: doing().id, baseVersion: 1 });
    expect((await ok(aliceSocket, 'task:delete', { taskId: mine.id, baseVersion: 1 })).event).toMatchObject({ type: 'task.deleted' });

    const theirs = await create('Edited by Bob');
    await ok(bobSocket, 'task:update', { taskId: theirs.id, patch: { priority: 4 }, baseVersion: 1 });
    const stale = await request(aliceSocket, 'task:delete', { taskId: theirs.id, baseVersion: 1 });
    expect(stale).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT', details: { task: { id: theirs.id, version: 2 }, fields: ['priority'] } },
    });
    expect(await db.query('select id from tasks where id = $1', [theirs.id])).toHaveLength(1);
  });

  it('delivers a change made over REST to the board sockets, like one made over a socket', async () => {
    const created = nextEvent<BoardEventJson<any>>(aliceSocket, 'board:event', (e) => e.type === 'task.created');
    const answer = await api(
      node.url,
      'POST',
      `/orgs/${org.slug}/projects/${project.id}/tasks`,
      { columnId: todo().id, title: 'From REST' },
      bob.token,
    );
    expect(answer.status).toBe(201);
    expect((await created).data.task.id).toBe(answer.body.task.id);
    const deleted = nextEvent<BoardEventJson<any>>(bobSocket, 'board:event', (e) => e.type === 'task.deleted');
    const removed = await api(node.url, 'DELETE', `/orgs/${org.slug}/tasks/${answer.body.task.id}`, undefined, alice.token);
    expect(removed.status).toBe(204);
    expect((await deleted).data).toEqual({ taskId: answer.body.task.id });
  });

  it('lets a viewer join and read the board but not write to it', async () => {
    const viewer = await connect(node.url, { token: vera.token });
    const board = await ok(viewer, 'board:join', { projectId: project.id });
    expect(board.project.id).toBe(project.id);
    const seen = recordBoardEvents(viewer);
    const refused = await request(viewer, 'task:create', { projectId: project.id, columnId: todo().id, title: 'nope' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await db.query(`select 1 from tasks where title = 'nope'`)).toEqual([]);
    const created = nextEvent<BoardEventJson<any>>(viewer, 'board:event', (e) => e.data && (e.data as any).task?.title === 'seen by vera');
    await create('seen by vera');
    await created;
    await barrier(viewer); // a second copy would have come before this answer
    expect(seen.filter((e) => (e.data as any).task?.title === 'seen by vera')).toHaveLength(1);
  });

  it('answers an empty patch, an update that changes nothing, ok with the task as it is: no event, no new version (DESIGN §7)', async () => {
    const task = await create('Left alone');
    const seen = recordBoardEvents(bobSocket);
    for (const payload of [
      { taskId: task.id, patch: {} },
      { taskId: task.id, patch: {}, baseVersion: 1, clientMutationId: 'empty-one' },
    ]) {
      expect(await ok(aliceSocket, 'task:update', payload)).toEqual({ task, event: null });
    }
    const column = (await ok(aliceSocket, 'board:join', { projectId: project.id })).columns[0];
    expect(await ok(aliceSocket, 'column:update', { columnId: column.id, patch: {} })).toEqual({ column, event: null });
    await ok(bobSocket, 'board:join', { projectId: project.id }); // a round trip: a broadcast would have come by now
    expect(seen.filter((event) => event.type !== 'task.created')).toEqual([]); // its creation may reach bob after alice's answer
    expect((await db.query('select version from tasks where id = $1', [task.id]))[0]).toEqual({ version: 1 });
  });

  it('refuses malformed payloads and unknown keys with VALIDATION_FAILED', async () => {
    const task = await create('Strict');
    for (const payload of [
      { taskId: task.id, patch: { title: 'x' }, orgId: org.id },
      { taskId: task.id, patch: { version: 9 } },
      { taskId: task.id, patch: { title: 'x' }, baseVersion: 2 ** 31 },
      { taskId: 'not-a-uuid', patch: { title: 'x' } },
      null,
    ]) {
      expect(await request(aliceSocket, 'task:update', payload)).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    }
    expect((await db.query('select title, version from tasks where id = $1', [task.id]))[0]).toEqual({ title: 'Strict', version: 1 });
  });

  it("names what to mend first in a refusal's message, for a client that logs only the message, alike over HTTP", async () => {
    const task = await create('Named');
    expect(await request(aliceSocket, 'task:update', { taskId: 'not-a-uuid', patch: { title: 'x' } })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', message: 'the payload does not match the schema: taskId: Invalid UUID' },
    });
    const twoWrong = await request(aliceSocket, 'task:update', { taskId: task.id, patch: { title: 'x' }, orgId: org.id, version: 3 });
    expect(twoWrong).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED', message: 'the payload does not match the schema: Unrecognized keys: "orgId", "version"' },
    });
    const overHttp = await api(node.url, 'PATCH', `/orgs/${org.slug}/tasks/${task.id}`, { priority: 'soon' }, alice.token);
    expect(overHttp.status).toBe(400);
    expect(overHttp.body.error.message).toBe(
      'the payload does not match the schema: priority: Invalid input: expected number, received string',
    );
  });
});

describe("a board's snapshot", () => {
  it('holds each task as its change answered it, awkward text and labels and all, alike over a socket and over HTTP', async () => {
    const awkward = [
      'a quote " a backslash \\ and a slash /',
      'a line\nbreak, a tab\t, a carriage return\r and a \u2028 line separator',
      'an emoji 🧭, עברית, 中文 and </script>',
      // Text like the placeholder the server splices database JSON in for (less its NUL): it stays text.
      '\\u0000raw:00000000000000000000000000000000:0',
    ];
    const tasks: TaskJson[] = [];
    for (const [i, text] of awkward.entries()) tasks.push(await create(`awkward ${i} ${text}`, { description: text }));
    const labels: string[] = [];
    for (const name of ['bug', 'urgent'])
      labels.push((await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name, color: '#d73a4a' }, alice.token)).body.id);
    const [first, second] = labels.sort();
    tasks.push(await create('two labels', { labelIds: [second, first] }), await create('one label', { labelIds: [second] }));
    const relabelled = await ok(bobSocket, 'task:update', { taskId: tasks[0]!.id, patch: { labelIds: [first] } });
    expect(tasks.at(-2)!.labelIds).toEqual([first, second]);
    const renamed = await ok(bobSocket, 'task:update', { taskId: tasks[0]!.id, patch: { title: `renamed ${awkward[3]}` } });
    expect(renamed.task.labelIds).toEqual(relabelled.task.labelIds);
    tasks[0] = renamed.task;

    const board = await ok(aliceSocket, 'board:join', { projectId: project.id });
    for (const task of tasks) expect(board.tasks.find((t: TaskJson) => t.id === task.id)).toEqual(task);
    expect(board.seq).toBe(renamed.event.seq);
    expect(board.project).toMatchObject({ id: project.id, seq: renamed.event.seq });
    expect(board.columns).toEqual(columns);

    const http = await api(node.url, 'GET', `/orgs/${org.slug}/projects/${project.id}`, undefined, bob.token);
    expect(http.status).toBe(200);
    expect(http.body).toEqual(board);
  });

  it('holds exactly the tasks of its seq while changes land on the board', async () => {
    const { project: busy, columns: busyColumns } = await createProject(node.url, org, 'Joined while written');
    const board = `/orgs/${org.slug}/projects/${busy.id}`;
    const read = async () => (await api<{ seq: number; tasks: TaskJson[] }>(node.url, 'GET', board, undefined, alice.token)).body;
    const start = (await read()).seq;
    let writing = true;
    const writer = (async () => {
      try {
        for (let i = 0; i < 150; i++) {
          const created = await api(node.url, 'POST', `${board}/tasks`, { columnId: busyColumns[0]!.id, title: `w${i}` }, bob.token);
          expect(created.status).toBe(201);
        }
      } finally {
        writing = false; // a refused write ends the reads too, and fails the test at `await writer`
      }
    })();
    const snapshots: Array<{ seq: number; tasks: TaskJson[] }> = [];
    while (writing) snapshots.push(await read());
    await writer;
    // Every task here came with one event: a snapshot whose tasks ran ahead of (or behind) its seq
    // would make a client apply an event twice (or never).
    const mismatched = snapshots.filter((snapshot) => snapshot.tasks.length !== snapshot.seq - start);
    expect(mismatched.map((snapshot) => [snapshot.seq - start, snapshot.tasks.length])).toEqual([]);
    expect(new Set(snapshots.map((snapshot) => snapshot.seq)).size).toBeGreaterThan(20);
  });
});

describe('a rejoin far behind', () => {
  it('answers up to 1,000 missed events, and the snapshot from 1,001 on', async () => {
    const { project: board, columns: boardColumns } = await createProject(node.url, org, 'Busy board');
    const { task } = await ok(aliceSocket, 'task:create', { projectId: board.id, columnId: boardColumns[0]!.id, title: 'busy' });
    let seq = 0;
    // Over HTTP, which has no per-socket rate limit.
    for (let i = 0; i < 1001; i++) {
      const answer = await api(node.url, 'PATCH', `/orgs/${org.slug}/tasks/${task.id}`, { title: `busy ${i}` }, alice.token);
      seq = answer.body.event.seq;
    }

    const replay = await ok(bobSocket, 'board:join', { projectId: board.id, sinceSeq: seq - 1000 });
    expect(replay.seq).toBe(seq);
    expect(replay.events.map((e: BoardEventJson) => e.seq)).toEqual(Array.from({ length: 1000 }, (_, i) => seq - 999 + i));
    expect(replay.events.at(-1).data.task.title).toBe('busy 1000');

    const snapshot = await ok(bobSocket, 'board:join', { projectId: board.id, sinceSeq: seq - 1001 });
    expect(snapshot.events).toBeUndefined();
    expect(snapshot).toMatchObject({ seq, tasks: [expect.objectContaining({ id: task.id, title: 'busy 1000' })] });
  });
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneEvents } from '../server/board/event-log.js';
import { enterTenant } from '../server/db/tenant.js';
import type { ColumnJson, ProjectJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { createKey, joinAs } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, recordBoardEvents, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let project: ProjectJson;
let columns: ColumnJson[];
let socket: ClientSocket;
let alice: TestUser;
let org: TestOrg;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url, BOARD_EVENT_RETENTION: '10' });
  alice = await registerUser(node.url, 'alice');
  org = await createOrg(node.url, alice);
  ({ project, columns } = await createProject(node.url, org));
  socket = await connect(node.url, { token: alice.token });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

const createTasks = async (n: number) => {
  for (let i = 0; i < n; i++) await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: `t${i}` });
};

describe('board:join with sinceSeq', () => {
  it('answers the events missed since then, in order', async () => {
    const { seq } = await ok(socket, 'board:join', { projectId: project.id });
    await createTasks(3);
    const replay = await ok(socket, 'board:join', { projectId: project.id, sinceSeq: seq });
    expect(replay.seq).toBe(seq + 3);
    expect(replay.events.map((e: any) => [e.seq, e.type, e.data.task.title])).toEqual([
      [seq + 1, 'task.created', 't0'],
      [seq + 2, 'task.created', 't1'],
      [seq + 3, 'task.created', 't2'],
    ]);
    expect(await ok(socket, 'board:join', { projectId: project.id, sinceSeq: seq + 3 })).toEqual({ events: [], seq: seq + 3 });
  });

  it('answers each missed event as it was broadcast: type, actor, data, clientMutationId and time', async () => {
    const watcher = await connect(node.url, { token: alice.token });
    const { seq } = await ok(watcher, 'board:join', { projectId: project.id });
    const seen = recordBoardEvents(watcher);
    const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'replayed' });
    const awkward = 'a quote " a backslash \\ a line\nbreak, 🧭 and </script>';
    await ok(socket, 'task:update', { taskId: task.id, patch: { title: awkward }, clientMutationId: 'replay-update-1' });
    await ok(socket, 'task:move', { taskId: task.id, columnId: columns[1]!.id });
    const last = await ok(socket, 'task:delete', { taskId: task.id });
    await eventually(() => expect(seen).toHaveLength(4));

    const replay = await ok(socket, 'board:join', { projectId: project.id, sinceSeq: seq });
    expect(replay).toEqual({ events: seen, seq: last.event.seq });
    expect(seen.map((e) => e.type)).toEqual(['task.created', 'task.updated', 'task.moved', 'task.deleted']);
    expect(seen[1]).toMatchObject({ clientMutationId: 'replay-update-1', data: { task: { title: awkward } } });
  });

  it('answers the full snapshot once the log no longer reaches back (retention)', async () => {
    await createTasks(12);
    const { seq } = await ok(socket, 'board:join', { projectId: project.id });
    const kept = await db.query<{ min: number }>('select min(seq)::int as min from board_events where project_id = $1', [project.id]);
    expect(kept[0]!.min).toBeGreaterThan(1);
    const answer = await ok(socket, 'board:join', { projectId: project.id, sinceSeq: 0 });
    expect(answer.events).toBeUndefined();
    expect(answer.seq).toBe(seq);
    expect(answer.tasks).toHaveLength((await db.query('select 1 from tasks where project_id = $1', [project.id])).length);
    expect(answer.tasks.length).toBeGreaterThanOrEqual(12);
  });

  it('keeps the latest events, and no gap, when the changes are plain updates', async () => {
    const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'often' });
    for (let i = 0; i < 23; i++) await ok(socket, 'task:update', { taskId: task.id, patch: { title: `often ${i}` } });
    const { seq } = await ok(socket, 'board:join', { projectId: project.id });
    const [log] = await db.query<{ n: number; min: number; max: number }>(
      'select count(*)::int as n, min(seq)::int as min, max(seq)::int as max from board_events where project_id = $1',
      [project.id],
    );
    expect(log!.max).toBe(seq);
    expect(log!.n).toBe(log!.max - log!.min + 1);
    expect(log!.n).toBeGreaterThanOrEqual(10);
    expect(log!.n).toBeLessThan(15);
    const recent = await ok(socket, 'board:join', { projectId: project.id, sinceSeq: seq - 3 });
    expect(recent.events.map((event: { data: { task: { title: string } } }) => event.data.task.title)).toEqual([
      'often 20',
      'often 21',
      'often 22',
    ]);
  });

  it('keeps the latest events, and no gap, when the updates come at once and travel together', async () => {
    const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'busy' });
    const writers = await Promise.all([1, 2, 3, 4].map(() => connect(node.url, { token: alice.token })));
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => ok(writers[i % 4]!, 'task:update', { taskId: task.id, patch: { title: `busy ${i}` } })),
    );
    const { seq } = await ok(socket, 'board:join', { projectId: project.id });
    const [log] = await db.query<{ n: number; min: number; max: number }>(
      'select count(*)::int as n, min(seq)::int as min, max(seq)::int as max from board_events where project_id = $1',
      [project.id],
    );
    expect(log).toMatchObject({ max: seq, n: log!.max - log!.min + 1 });
    expect(log!.n).toBeGreaterThanOrEqual(10);
    expect(log!.n).toBeLessThan(15);
  });

  it('prunes nothing for an update that changes nothing, even at a seq due for pruning', async () => {
    let title = 'steady';
    const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title });
    let { seq } = await ok(socket, 'board:join', { projectId: project.id });
    // Retention 10 prunes on every 5th seq: stop just before one.
    while ((seq + 1) % 5 !== 0) {
      title = `steady ${seq}`;
      seq = (await ok(socket, 'task:update', { taskId: task.id, patch: { title } })).event.seq;
    }
    const count = async () =>
      (await db.query<{ n: number }>('select count(*)::int as n from board_events where project_id = $1', [project.id]))[0]!.n;
    const before = await count();
    expect((await ok(socket, 'task:update', { taskId: task.id, patch: { title } })).event).toBeNull();
    expect(await count()).toBe(before);
    expect((await ok(socket, 'board:join', { projectId: project.id })).seq).toBe(seq);
  });

  it('prunes without visiting what earlier prunings deleted, however long the board has lived', async () => {
    // A board 5,000 events old, whose earlier prunings left 4,990 deleted rows in the index (as
    // they stay until a vacuum); its next pruning is due at seq 5,005 and keeps the latest 10.
    const { project: board } = await createProject(node.url, org, 'Long-lived');
    await db.query(
      `insert into board_events (id, created_at, org_id, project_id, seq, type, actor, payload)
       select gen_random_uuid(), now(), $1, $2, seq, 'task.updated', '{}', '{}' from generate_series(1, 5004) seq`,
      [org.id, board.id],
    );
    await db.query('delete from board_events where project_id = $1 and seq <= 4990', [board.id]);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      // As the board's transaction runs it: as the tenant, under row-level security.
      await client.query(`begin; ${enterTenant(org.id).text}; select set_config('app.board_seq', '5005', true)`);
      const explained = await client.query(`explain (analyze, buffers, format json) ${pruneEvents(board.id, 10).text}`);
      const { Plan: plan } = explained.rows[0]['QUERY PLAN'][0];
      const kept = await client.query('select min(seq)::int as min, count(*)::int as n from board_events where project_id = $1', [
        board.id,
      ]);
      expect(kept.rows[0]).toEqual({ min: 4996, n: 9 });
      // The pages it read: a few, where reaching down to seq 1 read every deleted row's.
      expect(plan['Shared Hit Blocks'] + plan['Shared Read Blocks']).toBeLessThan(30);
    } finally {
      await client.query('rollback');
      await client.end();
    }
  });

  it('prunes by the seq range with the plan a connection prepared while the log was short', async () => {
    // The server prepares each statement once per pooled connection, and PostgreSQL keeps the plan
    // it made then. Made while the log was short and had no statistics, the pruning's plan could
    // take the clientMutationId index (it too starts with project_id) and then read every event
    // of the board, on every pruning, until the statistics changed.
    const { project: board } = await createProject(node.url, org, 'Young then long');
    const { text, values } = pruneEvents(board.id, 10).parameters();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`prepare prune as ${text}`);
      const args = values.map((value) => (typeof value === 'number' ? String(value) : pg.escapeLiteral(String(value)))).join(', ');
      // As the board's transaction runs it, at `seq`; rolled back, so the log stays as it was.
      const prune = async (seq: number, explain = '') => {
        await client.query(`begin; ${enterTenant(org.id).text}; select set_config('app.board_seq', '${seq}', true)`);
        try {
          return (await client.query(`${explain} execute prune(${args})`)).rows;
        } finally {
          await client.query('rollback');
        }
      };
      for (let seq = 1; seq <= 10; seq++) await prune(seq);
      await db.query(
        `insert into board_events (id, created_at, org_id, project_id, seq, type, actor, payload)
         select gen_random_uuid(), now(), $1, $2, seq, 'task.updated', '{}', '{}' from generate_series(1, 5004) seq`,
        [org.id, board.id],
      );
      const [explained] = await prune(5005, 'explain (analyze, buffers, format json)');
      const { Plan: plan } = explained['QUERY PLAN'][0];
      // It deletes the five events that fell out of the log (4,991 to 4,995), reading a few pages.
      expect(plan['Shared Hit Blocks'] + plan['Shared Read Blocks']).toBeLessThan(30);
    } finally {
      await client.end();
    }
  });

  it("answers the snapshot where the missed events' data is over 16 MiB, which one message could not carry", async () => {
    const { seq } = await ok(socket, 'board:join', { projectId: project.id });
    await createTasks(3);
    // Three events of 6 MB each, as a column delete of a big board's cards would log.
    const inflated = await db.query(
      `update board_events set payload = jsonb_set(payload, '{task,description}', to_jsonb(repeat('x', 6000000)))
        where project_id = $1 and seq > $2 returning seq`,
      [project.id, seq],
    );
    expect(inflated).toHaveLength(3);
    const answer = await ok(socket, 'board:join', { projectId: project.id, sinceSeq: seq });
    expect(answer.events).toBeUndefined();
    expect(answer).toEqual(await ok(socket, 'board:join', { projectId: project.id }));
    expect(answer.seq).toBe(seq + 3);
  });

  it("prunes each board's log as event by event would, when a label comes off many of its tasks at once", async () => {
    const label = (await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'everywhere', color: '#0e8a16' }, alice.token)).body;
    const boards = await Promise.all(['Many', 'Few'].map((name) => createProject(node.url, org, name)));
    const counts = [23, 3];
    const before: number[] = [];
    for (const [i, board] of boards.entries()) {
      for (let n = 0; n < counts[i]!; n++) {
        const task = { projectId: board.project.id, columnId: board.columns[0]!.id, title: `labelled ${n}`, labelIds: [label.id] };
        await ok(socket, 'task:create', task);
      }
      before.push((await ok(socket, 'board:join', { projectId: board.project.id })).seq);
    }

    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/labels/${label.id}`, undefined, alice.token)).status).toBe(204);

    for (const [i, board] of boards.entries()) {
      const seq = before[i]! + counts[i]!;
      // Retention 10 prunes on every 5th seq whatever fell out of the latest 10.
      const oldestKept = Math.max(1, Math.floor(seq / 5) * 5 - 9);
      const [log] = await db.query<{ n: number; min: number; max: number }>(
        'select count(*)::int as n, min(seq)::int as min, max(seq)::int as max from board_events where project_id = $1',
        [board.project.id],
      );
      expect(log).toEqual({ n: seq - oldestKept + 1, min: oldestKept, max: seq });
      const replay = await ok(socket, 'board:join', { projectId: board.project.id, sinceSeq: oldestKept - 1 });
      expect(replay.seq).toBe(seq);
      expect(replay.events.map((event: { seq: number }) => event.seq)).toEqual(
        Array.from({ length: seq - oldestKept + 1 }, (_, n) => oldestKept + n),
      );
      const unlabelled = replay.events.filter((event: { seq: number }) => event.seq > before[i]!);
      expect(unlabelled).toHaveLength(seq - Math.max(before[i]!, oldestKept - 1));
      for (const event of unlabelled)
        expect(event).toMatchObject({ type: 'task.updated', data: { task: { labelIds: [], version: 2 }, changed: ['labelIds'] } });
    }
  });

  it('does not reach back before the reader came: a viewer or key added after a card was deleted gets the snapshot', async () => {
    const {
      project: board,
      columns: [column],
    } = await createProject(node.url, org, 'Private past');
    const { task } = await ok(socket, 'task:create', { projectId: board.id, columnId: column!.id, title: 'prod password hunter2' });
    await ok(socket, 'task:delete', { taskId: task.id });
    const vera = await joinAs(node.url, org, 'viewer', 'vera');
    const bot = await createKey(node.url, org, ['boards:read']);
    await ok(socket, 'task:create', { projectId: board.id, columnId: column!.id, title: 'After they came' });
    const readers = [await connect(node.url, { token: vera.token }), await connect(node.url, { apiKey: bot.key })];
    for (const reader of readers) {
      const answer = await ok(reader, 'board:join', { projectId: board.id, sinceSeq: 0 });
      expect(answer.events).toBeUndefined();
      expect(answer.seq).toBe(3);
      expect(JSON.stringify(answer)).not.toContain('hunter2');
      expect(answer.tasks.map((t: { title: string }) => t.title)).toEqual(['After they came']);
      // What came after them still replays.
      const since = await ok(reader, 'board:join', { projectId: board.id, sinceSeq: 2 });
      expect(since.events.map((e: { seq: number; type: string }) => [e.seq, e.type])).toEqual([[3, 'task.created']]);
    }
    // The owner, there all along, replays it all.
    const all = await ok(socket, 'board:join', { projectId: board.id, sinceSeq: 0 });
    expect(all.events.map((e: { type: string }) => e.type)).toEqual(['task.created', 'task.deleted', 'task.created']);
  });

  it("does not reach back before the reader's membership committed, though its transaction began before the card was made", async () => {
    // Events are stamped before they commit; so was a membership, at the start of a transaction
    // that could then wait (here for the audit log's table) while a card was made and deleted.
    const {
      project: board,
      columns: [column],
    } = await createProject(node.url, org, 'While they were being added');
    const bob = await registerUser(node.url, 'bob');
    const release = await holdLock(db, 'lock table audit_logs in share row exclusive mode');
    let adding: Promise<[void, { key: string }]> | undefined;
    try {
      adding = Promise.all([addMember(node.url, org, bob, 'viewer'), createKey(node.url, org, ['boards:read'])]);
      await eventually(async () => expect(await lockWaiters(db)).toBeGreaterThanOrEqual(2)); // their audit entries wait
      const { task } = await ok(socket, 'task:create', { projectId: board.id, columnId: column!.id, title: 'salaries, to delete' });
      await ok(socket, 'task:delete', { taskId: task.id });
    } finally {
      await release();
    }
    const [, bot] = await adding;
    for (const reader of [await connect(node.url, { token: bob.token }), await connect(node.url, { apiKey: bot.key })]) {
      const answer = await ok(reader, 'board:join', { projectId: board.id, sinceSeq: 0 });
      expect(answer.events).toBeUndefined();
      expect(JSON.stringify(answer)).not.toContain('salaries');
    }
  });

  it('answers the snapshot for a sinceSeq from the future, and refuses one no board can reach', async () => {
    const snapshot = await ok(socket, 'board:join', { projectId: project.id });
    for (const sinceSeq of [snapshot.seq + 100, 2 ** 31 - 1]) {
      const answer = await ok(socket, 'board:join', { projectId: project.id, sinceSeq });
      expect(answer.events).toBeUndefined();
      expect(answer).toEqual(snapshot);
    }
    for (const sinceSeq of [-1, 2 ** 31, Number.MAX_SAFE_INTEGER]) {
      expect(await request(socket, 'board:join', { projectId: project.id, sinceSeq })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED' },
      });
    }
  });
});

describe('clientMutationId', () => {
  it('makes a retried mutation answer the original result and write nothing', async () => {
    const payload = { projectId: project.id, columnId: columns[0]!.id, title: 'once', clientMutationId: 'retry-me-1' };
    const first = await ok(socket, 'task:create', payload);
    const again = await ok(socket, 'task:create', payload);
    expect(again).toEqual(first);
    expect(await db.query(`select count(*)::int as n from tasks where title = 'once'`)).toEqual([{ n: 1 }]);
    const reused = await request(socket, 'task:delete', { taskId: first.task.id, clientMutationId: 'retry-me-1' });
    expect(reused).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
  });

  it('answers a retry of a change that changed nothing as it did then, and writes nothing, after someone else changed that field', async () => {
    const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Same' });
    const payload = { taskId: task.id, patch: { title: 'Same' }, clientMutationId: 'noop-1' };
    const first = await ok(socket, 'task:update', payload);
    expect(first).toEqual({ task, event: null });
    const bob = await connect(node.url, { token: (await joinAs(node.url, org, 'member', 'bob')).token });
    await ok(bob, 'task:update', { taskId: task.id, patch: { title: 'Changed by Bob' } });
    const seq = (await db.query<{ seq: number }>('select seq from projects where id = $1', [project.id]))[0]!.seq;

    expect(await ok(socket, 'task:update', payload)).toEqual(first);
    expect(await db.query('select title from tasks where id = $1', [task.id])).toEqual([{ title: 'Changed by Bob' }]);
    expect((await db.query<{ seq: number }>('select seq from projects where id = $1', [project.id]))[0]!.seq).toBe(seq);
    expect(await request(socket, 'task:move', { taskId: task.id, columnId: columns[1]!.id, clientMutationId: 'noop-1' })).toMatchObject({
      ok: false,
      error: { code: 'CONFLICT' },
    });
  });

  it('answers a retry with the original result after the board was archived, and refuses a new change', async () => {
    const { project: frozen, columns: frozenColumns } = await createProject(node.url, org, 'Soon archived');
    const payload = { projectId: frozen.id, columnId: frozenColumns[0]!.id, title: 'before the freeze', clientMutationId: 'arch-1' };
    const first = await ok(socket, 'task:create', payload);
    const archived = await api(node.url, 'PATCH', `/orgs/${org.slug}/projects/${frozen.id}`, { status: 'archived' }, alice.token);
    expect(archived.status).toBe(200);
    expect(await ok(socket, 'task:create', payload)).toEqual(first);
    expect(await request(socket, 'task:create', { ...payload, clientMutationId: 'arch-2' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(await db.query('select count(*)::int as n from tasks where project_id = $1', [frozen.id])).toEqual([{ n: 1 }]);
  });
});

import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, ProjectJson, TaskEventData, TaskJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, holdLock, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { barrier, createKey, joinAs } from './support/governance.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, recordBoardEvents, request } from './support/sockets.js';

// The one-statement update (title, description, priority, due date) must answer exactly as the
// general path does: the same task JSON as a fresh read, the same `changed`, the same refusals.
let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];
let socket: ClientSocket;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  const alice = await registerUser(node.url, 'alice');
  org = await createOrg(node.url, alice);
  ({ project, columns } = await createProject(node.url, org));
  socket = await connect(node.url, { token: alice.token });
  await ok(socket, 'board:join', { projectId: project.id });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

async function fresh(taskId: string): Promise<TaskJson> {
  const board = await api(node.url, 'GET', `/orgs/${org.slug}/projects/${project.id}`, undefined, org.owner.token);
  return board.body.tasks.find((t: TaskJson) => t.id === taskId);
}

describe('a plain field update', () => {
  it('answers the task as a fresh read shows it, with the fields that changed', async () => {
    const label = (await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'x', color: '#000000' }, org.owner.token)).body;
    const { task } = await ok(socket, 'task:create', {
      projectId: project.id,
      columnId: columns[0]!.id,
      title: 'Plain',
      description: 'before',
      dueDate: '2031-01-02',
      labelIds: [label.id],
    });
    const updated = await ok(socket, 'task:update', {
      taskId: task.id,
      patch: { title: 'Plainer', description: null, priority: 4, dueDate: '2031-02-03' },
    });
    expect(updated.event.data.changed).toEqual(['title', 'description', 'priority', 'dueDate']);
    expect(updated.task).toEqual(await fresh(task.id));
    expect(updated.task).toMatchObject({
      title: 'Plainer',
      description: null,
      priority: 4,
      dueDate: '2031-02-03',
      version: 2,
      labelIds: [label.id],
    });
    expect(updated.event.data.task).toEqual(updated.task);

    const partly = await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Plainer', priority: 1 }, baseVersion: 2 });
    expect(partly.event.data.changed).toEqual(['priority']);
    expect(partly.task).toEqual(await fresh(task.id));
  });

  it('writes the task JSON exactly as the ORM does: labels, dates, completion and nulls', async () => {
    const labelIds: string[] = [];
    for (const name of ['b', 'a', 'c'])
      labelIds.push((await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name, color: '#123456' }, org.owner.token)).body.id);
    const done = columns.find((column) => column.isDone)!;
    const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Shape', labelIds });
    await ok(socket, 'task:move', { taskId: task.id, columnId: done.id });
    const quick = await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Shaped', dueDate: '2032-12-31' } });
    expect(quick.task).toMatchObject({ completedAt: expect.any(String), description: null, labelIds: [...labelIds].sort() });
    // The same values again change nothing, so the general path answers, with the ORM's JSON of the row.
    const general = await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Shaped' } });
    expect(general.event).toBeNull();
    expect(JSON.stringify(general.task)).toBe(JSON.stringify(quick.task));
    expect(JSON.stringify(await fresh(task.id))).toBe(JSON.stringify(quick.task));
  });

  it('changes nothing, and answers so, when the values are the same', async () => {
    const { task } = await ok(socket, 'task:create', {
      projectId: project.id,
      columnId: columns[0]!.id,
      title: 'Same',
      dueDate: '2030-05-06',
    });
    const answer = await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Same', dueDate: '2030-05-06' } });
    expect(answer.event).toBeNull();
    expect(answer.task).toEqual(task);
  });

  it('leaves a stale baseVersion to the merge rules, and an unknown task to NOT_FOUND', async () => {
    const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Stale' });
    const teammate = await connect(node.url, { token: (await joinAs(node.url, org, 'member', 'teammate')).token });
    await ok(teammate, 'task:update', { taskId: task.id, patch: { priority: 2 } });
    const merged = await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Merged' }, baseVersion: 1 });
    expect(merged.task).toMatchObject({ title: 'Merged', priority: 2, version: 3 });
    const clash = await request(socket, 'task:update', { taskId: task.id, patch: { priority: 3 }, baseVersion: 1 });
    expect(clash).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    await ok(socket, 'task:delete', { taskId: task.id });
    expect(await request(socket, 'task:update', { taskId: task.id, patch: { title: 'gone' } })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
  });
});

// On PostgreSQL the plain update travels in one message, its values written as SQL literals,
// and hands anything unusual back to the general path: these are the cases where that could go wrong.
describe('a plain field update on PostgreSQL', () => {
  const REFUSED = 'refused by the log';

  async function newTask(title = 'Quick') {
    return (await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title })).task as TaskJson;
  }

  async function otherBoardTask(): Promise<TaskJson> {
    const {
      project: board,
      columns: [column],
    } = await createProject(node.url, org, 'Other board');
    return (await ok(socket, 'task:create', { projectId: board.id, columnId: column!.id, title: 'Other' })).task as TaskJson;
  }

  async function boardSeq(): Promise<number> {
    return (await api(node.url, 'GET', `/orgs/${org.slug}/projects/${project.id}`, undefined, org.owner.token)).body.seq;
  }

  /** Makes the event log refuse, with an error, any event whose task has this title (a test trigger). */
  async function refuseLoggedTitle(title: string): Promise<void> {
    await db.query(`create function refuse_event() returns trigger language plpgsql as $$ begin
        if new.payload->'task'->>'title' = '${title}' then raise exception 'the log refuses this event'; end if;
        return new; end $$`);
    await db.query('create trigger refuse_event before insert on board_events for each row execute function refuse_event()');
  }

  async function allowAllEvents(): Promise<void> {
    await db.query('drop trigger refuse_event on board_events');
    await db.query('drop function refuse_event()');
  }

  it('rolls the whole change back when its event cannot be logged, and the connection serves the next', async () => {
    const task = await newTask('Kept');
    await refuseLoggedTitle(REFUSED);
    const seq = await boardSeq();
    try {
      expect(await request(socket, 'task:update', { taskId: task.id, patch: { title: REFUSED } })).toMatchObject({
        ok: false,
        error: { code: 'INTERNAL' },
      });
      expect(await fresh(task.id)).toEqual(task);
      expect(await boardSeq()).toBe(seq);
    } finally {
      await allowAllEvents();
    }
    // More updates than the pool has connections, one after another: none is left in a failed transaction.
    let last;
    for (let i = 0; i < 12; i++) last = await ok(socket, 'task:update', { taskId: task.id, patch: { title: `Kept ${i}` } });
    expect(last.event.seq).toBe(seq + 12);
    expect(last.task).toMatchObject({ title: 'Kept 11', version: 13 });
  });

  it('commits the changes of a busy board together, each once and in seq order, refusals and retries apart', async () => {
    const bob = await registerUser(node.url, 'bob-busy');
    const viewer = await registerUser(node.url, 'viewer-busy');
    await addMember(node.url, org, bob, 'member');
    await addMember(node.url, org, viewer, 'viewer');
    const [bobSocket, viewerSocket, watcher] = await Promise.all(
      [bob, viewer, org.owner].map((user) => connect(node.url, { token: user.token })),
    );
    await ok(watcher!, 'board:join', { projectId: project.id });
    const [a, b, c] = [await newTask('A'), await newTask('B'), await newTask('C')];
    const seq = await boardSeq();
    const seen = recordBoardEvents(watcher!);

    const sends = [];
    for (let i = 0; i < 12; i++) {
      sends.push(request(socket, 'task:update', { taskId: a.id, patch: { title: `A${i}` } }));
      sends.push(request(bobSocket!, 'task:update', { taskId: b.id, patch: { priority: 1 + (i % 4) }, clientMutationId: `busy-${i % 6}` }));
      if (i === 3) {
        // A change that changes nothing takes no seq; the viewer's, next in the same message, must not write with one.
        sends.push(request(socket, 'task:update', { taskId: c.id, patch: { title: 'C' } }));
        sends.push(request(viewerSocket!, 'task:update', { taskId: c.id, patch: { title: 'By a viewer' } }));
      }
    }
    const answers = await Promise.all(sends);

    expect(answers.filter((answer) => !answer.ok)).toEqual([{ ok: false, error: expect.objectContaining({ code: 'FORBIDDEN' }) }]);
    // Bob's second use of each clientMutationId is a retry, answered with the first one's event.
    const events = new Map<number, BoardEventJson<TaskEventData>>(
      answers.flatMap((answer) => (answer.ok && answer.data.event ? [[answer.data.event.seq, answer.data.event]] : [])),
    );
    const changes = 12 + 6;
    expect([...events.keys()].sort((x, y) => x - y)).toEqual(Array.from({ length: changes }, (_, i) => seq + 1 + i));
    expect(await boardSeq()).toBe(seq + changes);
    await eventually(() => expect(seen.map((event) => event.seq)).toEqual([...events.keys()].sort((x, y) => x - y)));
    expect(await fresh(c.id)).toEqual(c);
    for (const task of [a, b]) {
      const last = [...events.values()].filter((event) => event.data.task.id === task.id).sort((x, y) => y.seq - x.seq)[0];
      expect(await fresh(task.id)).toEqual(last!.data.task);
    }
    // They shared transactions: each event row carries the id of the transaction that wrote it.
    const [written] = await db.query(
      `select count(distinct xmin::text)::int as transactions from board_events where project_id = $1 and seq > $2`,
      [project.id, seq],
    );
    expect(written.transactions).toBeLessThan(changes);
  });

  it('lets a busy board give up its connection when other work waits for one of the pool', async () => {
    const [busy, other] = [await newTask('Busy'), await otherBoardTask()];
    // The locator remembers both tasks' boards, so that each change below needs no read of its own.
    await ok(socket, 'task:update', { taskId: busy.id, patch: { priority: 1 } });
    await ok(socket, 'task:update', { taskId: other.id, patch: { priority: 1 } });
    // Nine of the pool's ten connections are busy elsewhere; the busy board holds the tenth while its changes wait.
    const writers = await Promise.all(
      Array.from({ length: 4 }, async (_, w) => connect(node.url, { token: (await joinAs(node.url, org, 'member', `writer-${w}`)).token })),
    );
    const pool = node.server.ctx.orm.em.getConnection().getKnex().client;
    const held = await Promise.all(Array.from({ length: 9 }, () => pool.acquireConnection()));
    try {
      const answered: string[] = [];
      const update = (writer: ClientSocket, task: TaskJson, title: string) =>
        request(writer, 'task:update', { taskId: task.id, patch: { title } }).then((answer) => (answered.push(task.id), answer));
      // Four people, each within their rate limit and running four changes at a time.
      const changes = writers.flatMap((writer, w) => Array.from({ length: 80 }, (_, i) => update(writer, busy, `Busy ${w}.${i}`)));
      changes.push(update(socket, other, 'Served meanwhile'));
      expect((await Promise.all(changes)).every((answer) => answer.ok)).toBe(true);
      // 320 changes are ten messages of 32 at most: the other board's came before the last of them.
      expect(answered.indexOf(other.id)).toBeLessThan(answered.length - 32);
    } finally {
      for (const connection of held) await pool.releaseConnection(connection);
    }
  });

  it("leaves the org's row alone, which every board of the org shares, when two boards change at once", async () => {
    const [here, there] = [await newTask('Here'), await otherBoardTask()];
    // A lock on a row is written into the row (its xmax): a foreign key's check on the org would set it.
    const orgRowLock = async () =>
      (await db.query<{ xmax: string }>('select xmax::text from organizations where id = $1', [org.id]))[0]!.xmax;
    const writer = await connect(node.url, { token: (await joinAs(node.url, org, 'member', 'apart-writer')).token });
    const before = await orgRowLock();
    // Each board's changes travel together, a task changed three times in one transaction among
    // them: both boards' rows are held while two accounts (four events at once each) send eight
    // changes, so that each board has one message waiting for its row and three changes behind it.
    const release = await holdLock(db, `select 1 from projects where id in ('${here.projectId}', '${there.projectId}') for update`);
    let answers: Array<Promise<{ ok: boolean }>>;
    try {
      answers = [socket, writer].flatMap((sender) =>
        Array.from({ length: 4 }, (_, i) =>
          request(sender, 'task:update', {
            taskId: (i % 2 ? here : there).id,
            patch: { title: `Apart ${sender === socket ? 'a' : 'b'}${i}` },
          }),
        ),
      );
      const queue = (node.server.ctx.boardQueue as unknown as { boards: Map<string, unknown[]> }).boards;
      await eventually(() => expect([...queue.values()].reduce((sum, waiting) => sum + waiting.length, 0)).toBe(6));
    } finally {
      await release();
    }
    expect((await Promise.all(answers)).every((answer) => answer.ok)).toBe(true);
    const [{ transactions }] = await db.query(
      `select count(distinct xmin::text)::int as transactions from board_events where type = 'task.updated' and payload -> 'task' ->> 'id' in ($1, $2)`,
      [here.id, there.id],
    );
    expect(transactions).toBe(4);
    expect(await orgRowLock()).toBe(before);
  });

  it("leaves the org's row alone when a task's labels are set and a column changes", async () => {
    const task = await newTask('Labelled');
    const orgRowLock = async () =>
      (await db.query<{ xmax: string }>('select xmax::text from organizations where id = $1', [org.id]))[0]!.xmax;
    const label = (await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'org-row', color: '#000000' }, org.owner.token)).body;
    const before = await orgRowLock();
    expect((await ok(socket, 'task:update', { taskId: task.id, patch: { labelIds: [label.id] } })).event).not.toBeNull();
    const { column } = await ok(socket, 'column:create', { projectId: project.id, name: 'Org row' });
    await ok(socket, 'column:update', { columnId: column.id, patch: { name: 'Org row, renamed' } });
    expect(await orgRowLock()).toBe(before);
  });

  it('logs each event, and makes each task, under an id that begins with its time, so their keys grow at their end', async () => {
    const task = await newTask('Time-ordered');
    const version7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    expect(task.id).toMatch(version7);
    await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Time-ordered, quick' } });
    await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Time-ordered, merged' }, baseVersion: task.version });
    await ok(socket, 'task:move', { taskId: task.id, columnId: columns[1]!.id });
    await ok(socket, 'task:delete', { taskId: task.id, clientMutationId: 'time-ordered-delete' });
    const events = await db.query<{ id: string; type: string }>(
      `select id::text, type from board_events where project_id = $1 order by seq desc limit 5`,
      [project.id],
    );
    expect(events.map((event) => event.type).reverse()).toEqual([
      'task.created',
      'task.updated',
      'task.updated',
      'task.moved',
      'task.deleted',
    ]);
    // Version 7: the first 48 bits are the millisecond of the id's making, which on one node's clock never goes back.
    for (const { id } of events) expect(id).toMatch(version7);
    const times = events.map((event) => event.id.slice(0, 13)).reverse();
    expect(times).toEqual([...times].sort());
    expect(Math.abs(Date.now() - parseInt(times[0]!.replace('-', ''), 16))).toBeLessThan(60_000);
  });

  it("refuses another org's user and key among a board's changes sent together, as if the task did not exist", async () => {
    const task = await newTask('Ours');
    const mallory = await registerUser(node.url, 'mallory');
    const theirs = await createOrg(node.url, mallory);
    const [malloryKey] = [(await createKey(node.url, theirs, ['tasks:write', 'boards:read'])).key];
    const intruders = [await connect(node.url, { token: mallory.token }), await connect(node.url, { apiKey: malloryKey })];
    const seq = await boardSeq();

    const ours = Array.from({ length: 8 }, (_, i) => request(socket, 'task:update', { taskId: task.id, patch: { title: `Ours ${i}` } }));
    const attempts = intruders.map((intruder) => request(intruder, 'task:update', { taskId: task.id, patch: { title: 'Theirs' } }));
    const unknown = await request(intruders[0]!, 'task:update', { taskId: randomUUID(), patch: { title: 'Theirs' } });

    expect((await Promise.all(ours)).every((answer) => answer.ok)).toBe(true);
    for (const answer of await Promise.all(attempts)) expect(answer).toEqual(unknown);
    expect(unknown).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await boardSeq()).toBe(seq + 8);
    expect(
      await db.query(`select count(*)::int as n from board_events where project_id = $1 and payload->'task'->>'title' = 'Theirs'`, [
        project.id,
      ]),
    ).toEqual([{ n: 0 }]);
    expect(await fresh(task.id)).toMatchObject({ title: expect.stringMatching(/^Ours \d$/) });
  });

  it('fails only the change that fails when the changes of a board travel together', async () => {
    const tasks = await Promise.all(Array.from({ length: 6 }, (_, i) => newTask(`Together ${i}`)));
    await refuseLoggedTitle(REFUSED);
    const seq = await boardSeq();
    try {
      const titles = tasks.map((_, i) => (i === 2 ? REFUSED : `Together again ${i}`));
      const answers = await Promise.all(
        tasks.map((task, i) => request(socket, 'task:update', { taskId: task.id, patch: { title: titles[i] } })),
      );
      expect(answers.map((answer) => answer.ok)).toEqual([true, true, false, true, true, true]);
      expect(answers[2]).toMatchObject({ error: { code: 'INTERNAL' } });
      expect(answers.flatMap((answer) => (answer.ok ? [answer.data.event.seq] : [])).sort((x, y) => x - y)).toEqual(
        [1, 2, 3, 4, 5].map((n) => seq + n),
      );
      expect(await fresh(tasks[2]!.id)).toEqual(tasks[2]);
      for (const i of [0, 1, 3, 4, 5]) expect(await fresh(tasks[i]!.id)).toMatchObject({ title: titles[i] });
    } finally {
      await allowAllEvents();
    }
  });

  it('stores text that looks like SQL exactly as sent, and harms nothing', async () => {
    const task = await newTask();
    const texts = [
      "O'Brien'); drop table tasks; --",
      'back\\slash at the end \\',
      "E'\\x27' $$ $1 ? ?? :name",
      'emoji 🧪 and 中文 and \u2028 line separator',
    ];
    for (const title of texts) {
      const answer = await ok(socket, 'task:update', { taskId: task.id, patch: { title, description: `${title}\n${title}` } });
      expect(answer.task).toMatchObject({ title, description: `${title}\n${title}` });
      expect(await fresh(task.id)).toEqual(answer.task);
    }
  });

  it('refuses a NUL character with VALIDATION_FAILED and changes nothing', async () => {
    const task = await newTask('Before NUL');
    const seq = await boardSeq();
    for (const patch of [{ title: 'a\u0000b' }, { description: 'x\u0000' }]) {
      expect(await request(socket, 'task:update', { taskId: task.id, patch })).toMatchObject({
        ok: false,
        error: { code: 'VALIDATION_FAILED' },
      });
    }
    expect(await fresh(task.id)).toEqual(task);
    expect(await boardSeq()).toBe(seq);
  });

  it('keeps seq gap-free through updates that change nothing, refusals and retries', async () => {
    const task = await newTask('Gapless');
    const viewer = await registerUser(node.url, 'viewer');
    await addMember(node.url, org, viewer, 'viewer');
    const viewerSocket = await connect(node.url, { token: viewer.token });
    await ok(viewerSocket, 'board:join', { projectId: project.id });
    const seen = recordBoardEvents(viewerSocket);
    const seq = await boardSeq();

    await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Gapless' } }); // unchanged
    expect(await request(viewerSocket, 'task:update', { taskId: task.id, patch: { title: 'By a viewer' } })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    const first = await ok(socket, 'task:update', { taskId: task.id, patch: { priority: 3 }, clientMutationId: 'quick-retry' });
    const retried = await ok(socket, 'task:update', { taskId: task.id, patch: { priority: 3 }, clientMutationId: 'quick-retry' });

    expect(first.event.seq).toBe(seq + 1);
    expect(retried.event).toEqual(first.event);
    expect(await boardSeq()).toBe(seq + 1);
    expect(await fresh(task.id)).toMatchObject({ title: 'Gapless', priority: 3, version: 2 });
    await ok(socket, 'task:update', { taskId: task.id, patch: { priority: 4 } });
    await barrier(viewerSocket); // the viewer has heard every event of the changes answered above
    expect(seen.map((event) => event.seq)).toEqual([seq + 1, seq + 2]);
  });

  it('lets a bot with tasks:write update, and refuses one with only boards:read', async () => {
    const task = await newTask('For bots');
    const writer = await connect(node.url, { apiKey: (await createKey(node.url, org, ['tasks:write', 'boards:read'])).key });
    const reader = await connect(node.url, { apiKey: (await createKey(node.url, org, ['boards:read'])).key });
    const written = await ok(writer, 'task:update', { taskId: task.id, patch: { title: 'Bot was here' } });
    expect(written.event.actor).toMatchObject({ kind: 'bot' });
    expect(await request(reader, 'task:update', { taskId: task.id, patch: { title: 'Reader' } })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(await fresh(task.id)).toMatchObject({ title: 'Bot was here' });
  });

  it('refuses a removed member as if the task did not exist, and writes nothing', async () => {
    const task = await newTask('Not yours');
    const leaver = await joinAs(node.url, org, 'member', 'leaver');
    const leaverSocket = await connect(node.url, { token: leaver.token });
    await ok(leaverSocket, 'task:update', { taskId: task.id, patch: { priority: 1 } });
    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/members/${leaver.user.id}`, undefined, org.owner.token)).status).toBe(204);
    const seq = await boardSeq();
    expect(await request(leaverSocket, 'task:update', { taskId: task.id, patch: { title: 'After removal' } })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await fresh(task.id)).toMatchObject({ title: 'Not yours', priority: 1 });
    expect(await boardSeq()).toBe(seq);
  });

  it('refuses a change on an archived board with FORBIDDEN', async () => {
    const { project: archived, columns: archivedColumns } = await createProject(node.url, org, 'Archived');
    const { task } = await ok(socket, 'task:create', { projectId: archived.id, columnId: archivedColumns[0]!.id, title: 'Frozen' });
    await api(node.url, 'PATCH', `/orgs/${org.slug}/projects/${archived.id}`, { status: 'archived' }, org.owner.token);
    expect(await request(socket, 'task:update', { taskId: task.id, patch: { title: 'Thawed' } })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
  });

  it('refuses with FORBIDDEN, and writes nothing, when the board is archived while the change waits for it', async () => {
    const { project: board, columns: boardColumns } = await createProject(node.url, org, 'Archived meanwhile');
    const { task } = await ok(socket, 'task:create', { projectId: board.id, columnId: boardColumns[0]!.id, title: 'Waiting' });
    const archiver = new pg.Client({ connectionString: db.url });
    await archiver.connect();
    try {
      await archiver.query('begin');
      await archiver.query(`update projects set status = 'archived', seq = seq + 1 where id = $1`, [board.id]);
      const answer = request(socket, 'task:update', { taskId: task.id, patch: { title: 'Too late' } });
      await eventually(async () => {
        const waiting = await db.query(`select 1 from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`, [db.name]);
        expect(waiting).toHaveLength(1);
      });
      await archiver.query('commit');
      expect(await answer).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    } finally {
      await archiver.end();
    }
    const [row] = await db.query(`select title from tasks where id = $1`, [task.id]);
    expect(row).toEqual({ title: 'Waiting' });
  });
});

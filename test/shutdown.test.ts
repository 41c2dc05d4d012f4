import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ack } from '../shared/events.js';
import type { BoardEventJson, ColumnJson, ProjectJson } from '../shared/wire.js';
import { api, createProject, type HttpAnswer } from './support/api.js';
import { admin, createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { startRedis } from './support/processes.js';
import { type Cast, castOrg } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, nextEvent, ok, recordBoardEvents, request } from './support/sockets.js';

// A node being stopped (SIGTERM on a deploy) answers what it has taken before it lets go of its
// sockets: a change under way is committed and acknowledged, and its event broadcast, while one
// sent after the stop began is refused with UNAVAILABLE, which a client retries elsewhere.

let db: TestDatabase;
let node: RunningServer | undefined;
let cast: Cast;
let project: ProjectJson;
let columns: ColumnJson[];
let alice: ClientSocket;
let bob: ClientSocket;
let watcher: ClientSocket;
/** Another org's admin, on a board of that org. */
let stranger: ClientSocket;
/** The node's stop, once a test has begun it. */
let closing: Promise<void> | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  cast = await castOrg(node.url);
  ({ project, columns } = await createProject(node.url, cast.org));
  [alice, bob, watcher] = await Promise.all(
    [cast.owner, cast.member, cast.viewer].map((user) => connect(node!.url, { token: user.token })),
  );
  for (const socket of [alice, bob, watcher]) await ok(socket, 'board:join', { projectId: project.id });
  const { project: theirs } = await createProject(node.url, cast.otherOrg);
  stranger = await connect(node.url, { token: cast.otherAdmin.token });
  await ok(stranger, 'board:join', { projectId: theirs.id });
});

afterAll(async () => {
  closeAllSockets();
  await (closing ?? node?.close());
  await db?.drop();
});

/** Resolves when `socket` is disconnected by the server. */
function disconnected(socket: ClientSocket): Promise<string> {
  return new Promise((resolve) => socket.once('disconnect', resolve));
}

describe('stopping a node', () => {
  it('answers the changes under way, over sockets and HTTP, before it closes, and refuses new ones with UNAVAILABLE', async () => {
    const tasks = [];
    for (const title of ['one', 'two', 'three'])
      tasks.push((await ok(alice, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title })).task);
    const [{ seq: before }] = await db.query<{ seq: number }>('select seq from projects where id = $1', [project.id]);
    const seen: BoardEventJson[] = recordBoardEvents(watcher);
    const strangerSeen = recordBoardEvents(stranger);
    const gone = [alice, bob, watcher, stranger].map(disconnected);

    // Hold the board's row, so that the changes are under way (in PostgreSQL, and queued behind
    // it in the server) when the stop begins.
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    let overHttp: Promise<HttpAnswer>;
    const underWay: Array<Promise<Ack<unknown>>> = [];
    try {
      await holder.query('begin');
      await holder.query('select 1 from projects where id = $1 for update', [project.id]);
      for (const [i, task] of tasks.entries()) {
        underWay.push(request(alice, 'task:update', { taskId: task.id, patch: { title: `alice ${i}` } }));
        underWay.push(request(bob, 'task:update', { taskId: task.id, patch: { priority: i + 1 } }));
      }
      underWay.push(request(bob, 'task:create', { projectId: project.id, columnId: columns[1]!.id, title: 'created during the stop' }));
      overHttp = api(
        node!.url,
        'POST',
        `/orgs/${cast.org.slug}/tasks/${tasks[2]!.id}/move`,
        { columnId: columns[1]!.id },
        cast.owner.token,
      );
      await eventually(async () => {
        expect(node!.server.ctx.inFlight.size).toBe(underWay.length + 1); // the socket events and the move
        const waiting = await db.query(`select 1 from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`, [db.name]);
        // The board's first message, and the first of the create and the move (the other waits its turn on the node).
        expect(waiting).toHaveLength(2);
      });

      const url = node!.url;
      closing = node!.close();
      node = undefined;
      const late = await request(alice, 'task:update', { taskId: tasks[0]!.id, patch: { title: 'after the stop began' } });
      expect(late).toEqual({ ok: false, error: { code: 'UNAVAILABLE', message: 'the server is shutting down; try again' } });
      const lateOverHttp = await api(url, 'GET', `/orgs/${cast.org.slug}/projects/${project.id}`, undefined, cast.owner.token);
      expect(lateOverHttp).toMatchObject({
        status: 503,
        body: { error: { code: 'UNAVAILABLE', message: 'the server is shutting down; try again' } },
      });
      await holder.query('rollback');
    } finally {
      await holder.end();
    }

    const answers = await Promise.all(underWay);
    expect(answers.filter((answer) => !answer.ok)).toEqual([]);
    expect((await overHttp!).status).toBe(200);
    await closing;
    await Promise.all(gone);

    const events = await db.query<{ seq: number; type: string }>(
      'select seq, type from board_events where project_id = $1 and seq > $2 order by seq',
      [project.id, before],
    );
    expect(events.map((event) => event.seq)).toEqual(Array.from({ length: underWay.length + 1 }, (_, i) => before + i + 1));
    expect(seen.map((event) => event.seq).sort((a, b) => a - b)).toEqual(events.map((event) => event.seq));
    expect(strangerSeen).toEqual([]); // another org's socket, closed with the rest, heard none of it
    const titles = await db.query<{ title: string }>('select title from tasks where project_id = $1 order by title', [project.id]);
    expect(titles.map((row) => row.title)).toEqual(['alice 0', 'alice 1', 'alice 2', 'created during the stop']);
  });
});

describe('database work that outlives its answer at a stop', () => {
  /**
   * Two nodes on a Redis of their own; node A answers at 2 s. `titles.length` changes of a task on
   * A wait on its board's row: the first in a message to PostgreSQL, the rest in the board's queue.
   */
  async function stopWithChangesWaiting(
    titles: string[],
    releaseWhen: (stopped: { socketGone: Promise<unknown>; closing: Promise<void> }) => Promise<unknown>,
  ) {
    const redis = await startRedis();
    const nodeA = await startServer({ DATABASE_URL: db.url, REDIS_URL: redis.url, ANSWER_DEADLINE: '2s' });
    const nodeB = await startServer({ DATABASE_URL: db.url, REDIS_URL: redis.url });
    let release: (() => Promise<void>) | undefined;
    let closing: Promise<void> | undefined;
    try {
      const {
        project: board,
        columns: [todo],
      } = await createProject(nodeA.url, cast.org);
      const writer = await connect(nodeA.url, { token: cast.owner.token });
      const viewer = await connect(nodeB.url, { token: cast.member.token });
      await ok(viewer, 'board:join', { projectId: board.id });
      const created = nextEvent(viewer, 'board:event');
      const { task } = await ok(writer, 'task:create', { projectId: board.id, columnId: todo!.id, title: 'before' });
      await created; // B hears A's events
      const seen = recordBoardEvents(viewer);
      release = await holdLock(db, `select 1 from projects where id = '${board.id}' for update`);
      const answers = titles.map((title) => request(writer, 'task:update', { taskId: task.id, patch: { title } }));
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      const socketGone = disconnected(writer);
      closing = nodeA.close();
      for (const answer of answers) expect(await answer).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } }); // at the deadline
      await releaseWhen({ socketGone, closing });
      await release();
      await closing;
      return { seen, task, board };
    } finally {
      await release?.();
      await (closing ?? nodeA.close());
      await nodeB.close();
      await redis.stop();
    }
  }

  /** Once every session of the stopped node is gone, none of its changes committed, and no viewer heard one. */
  async function expectNothingCommitted({ seen, task, board }: Awaited<ReturnType<typeof stopWithChangesWaiting>>) {
    await eventually(async () => {
      const sessions = await db.query(`select 1 from pg_stat_activity where datname = $1 and application_name = 'taskflow'`, [db.name]);
      expect(sessions).toEqual([]);
    });
    const [row] = await db.query<{ title: string }>('select title from tasks where id = $1', [task.id]);
    expect(row!.title).toBe('before');
    expect(await db.query('select seq from board_events where project_id = $1 and seq > 1', [board.id])).toEqual([]);
    // A stop that could not look for its unanswered changes in the log asks the other nodes to
    // re-send their sockets their boards' latest event: seq 1, which the viewer has.
    expect(seen.filter((event) => event.seq > 1)).toEqual([]);
  }

  it('broadcasts, on the other nodes, a change that commits after its answer while the node stops', async () => {
    // The row is let go once A has closed its sockets, while it waits for its database work.
    const { seen, task } = await stopWithChangesWaiting(['while stopping'], ({ socketGone }) => socketGone);
    const [row] = await db.query<{ title: string }>('select title from tasks where id = $1', [task.id]);
    expect(row!.title).toBe('while stopping');
    await eventually(() => expect(seen.map((event) => (event.data as { task: { title: string } }).task.title)).toEqual(['while stopping']));
  });

  it('cancels the changes still waiting when the node has waited long enough, and starts no more: nothing commits once it is gone', async () => {
    // The first change's message is cancelled; the two queued behind it must not then be sent.
    const stopped = await stopWithChangesWaiting(['first', 'second', 'third'], ({ closing }) => closing);
    // The row is let go only once A (and B) closed: A's session, had it still waited, would commit now.
    await expectNothingCommitted(stopped);
  });

  it('cuts the sessions still waiting when the database takes no session to cancel from: the stop ends, and nothing commits', async () => {
    const allowConnections = (allow: boolean) => admin(`alter database ${db.name} with allow_connections ${allow}`);
    try {
      const stopped = await stopWithChangesWaiting(['first', 'second'], async ({ closing }) => {
        await allowConnections(false); // as at max_connections, or a database being taken down
        await closing; // the stop ends, where the canceller's refusal used to reject it (an unhandled rejection in main.ts)
        await allowConnections(true);
      });
      await expectNothingCommitted(stopped);
    } finally {
      await allowConnections(true);
    }
  });
});

describe('a stop whose wait for the work under way runs out', () => {
  it('cancels the database work still waiting and answers it UNAVAILABLE before it closes the connections: nothing commits', async () => {
    // The answer deadline is the default 20 s, twice the stop's wait: the stop must answer these itself.
    const stopping = await startServer({ DATABASE_URL: db.url }, { drainMs: 1_500 });
    const {
      project: board,
      columns: [todo, done],
    } = await createProject(stopping.url, cast.org);
    const writer = await connect(stopping.url, { token: cast.owner.token });
    const { task } = await ok(writer, 'task:create', { projectId: board.id, columnId: todo!.id, title: 'before' });
    const release = await holdLock(db, `select 1 from projects where id = '${board.id}' for update`);
    let closing: Promise<void> | undefined;
    try {
      // The quick path's message and the board's queue behind it, the ORM's path, and HTTP.
      const answers = ['first', 'second'].map((title) => request(writer, 'task:update', { taskId: task.id, patch: { title } }));
      answers.push(request(writer, 'task:create', { projectId: board.id, columnId: todo!.id, title: 'created' }));
      const overHttp = api(stopping.url, 'POST', `/orgs/${cast.org.slug}/tasks/${task.id}/move`, { columnId: done!.id }, cast.owner.token);
      // The board's first message, and the first of the create and the move (the other waits its turn on the node).
      await eventually(async () => expect(await lockWaiters(db)).toBe(2));
      const socketGone = disconnected(writer);
      closing = stopping.close();
      for (const answer of await Promise.all(answers)) expect(answer).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      expect(await overHttp).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
      await socketGone; // answered first, then closed
      await closing;
    } finally {
      await release();
      await (closing ?? stopping.close());
    }
    const [row] = await db.query<{ title: string; column_id: string }>('select title, column_id from tasks where id = $1', [task.id]);
    expect(row).toEqual({ title: 'before', column_id: todo!.id });
    expect(await db.query('select seq from board_events where project_id = $1 and seq > 1', [board.id])).toEqual([]);
  });
});

describe('a request whose body is still arriving when a stop begins', () => {
  it('is answered 503 UNAVAILABLE at once and its connection closed: a trickling client does not hold the stop', async () => {
    const logged: string[] = [];
    const stopping = await startServer({ DATABASE_URL: db.url, LOG_LEVEL: 'warn' }, { logStream: { write: (line) => logged.push(line) } });
    const atStart = logged.length; // the start's own (no SMTP_URL)
    const { port } = new URL(stopping.url);
    const client = net.connect(Number(port), '127.0.0.1');
    let received = '';
    client.on('data', (chunk) => (received += chunk.toString()));
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.write(
      `POST /api/v1/orgs/${cast.org.slug}/projects HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer ${cast.owner.token}\r\nContent-Length: 100\r\n\r\n{"name":`,
    );
    await eventually(() => expect(stopping.server.ctx.inFlight.size).toBe(1));
    const closing = stopping.close();
    await closed;
    expect(received).toMatch(/^HTTP\/1\.1 503 /);
    expect(received).toContain('the server is shutting down; try again');
    await closing;
    expect(logged.slice(atStart)).toEqual([]); // one answer, and no warning of a second
  });
});

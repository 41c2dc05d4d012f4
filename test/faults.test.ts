import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Ack, TaskChangeData } from '../shared/events.js';
import type { BoardEventJson, ColumnJson, ProjectJson, TaskEventData, TaskJson } from '../shared/wire.js';
import { type AckLedger, ackCounts, ackLedger, lastSentId } from './support/ack-ledger.js';
import { addMember, api, createOrg, createProject, type HttpAnswer, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { barrier } from './support/governance.js';
import { type PrivatePostgres, startPrivatePostgres } from './support/private-postgres.js';
import { httpStatus } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, recordBoardEvents, request } from './support/sockets.js';

// DESIGN §7 "When Redis or PostgreSQL fails": while PostgreSQL is down the process stays up,
// mutations answer UNAVAILABLE, /readyz answers 503, and nothing is broadcast that was not
// committed. The server runs in this process against a PostgreSQL cluster of this file's own,
// which the tests crash (`pg_ctl stop -m immediate`) and start again on the same port.

const DATABASE = 'taskflow_faults';
/** The longest a refusal may take while PostgreSQL is down (the pool gives up after 5 s). */
const REFUSAL_MS = 10_000;
/** The longest recovery may take once PostgreSQL accepts connections again. */
const RECOVERY_MS = 20_000;
/** The only message an UNAVAILABLE may carry (server/errors.ts): nothing from inside. */
const UNAVAILABLE_MESSAGE = 'the database is unavailable; try again';
/** What must never reach a client from a lost connection: driver codes, addresses, SQL, stacks. */
const INTERNAL_DETAIL =
  /ECONN|ETIMEDOUT|EPIPE|127\.0\.0\.1|:\d{4,5}\b|knex|pg\b|postgres|select |insert |update |delete |\bat \S+ \(|acquir|pool|terminat/i;

let cluster: PrivatePostgres | undefined;
let node: RunningServer | undefined;
let org: TestOrg;
let alice: TestUser;
let bob: TestUser;
let project: ProjectJson;
let columns: ColumnJson[];
/** Alice makes the changes. */
let aliceSocket: ClientSocket;
/** Bob watches the board. */
let bobSocket: ClientSocket;
let bobSeen: BoardEventJson[];
let aliceLedger: AckLedger;
let bobLedger: AckLedger;

const base = () => node!.url;
const todo = () => columns[0]!.id;
const done = () => columns[2]!.id;
const db = <R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]) =>
  cluster!.query<R>(DATABASE, sql, params);

beforeAll(async () => {
  cluster = await startPrivatePostgres();
  const url = await cluster.createDatabase(DATABASE);
  node = await startServer({ DATABASE_URL: url, ...(process.env.FAULTS_LOG_LEVEL ? { LOG_LEVEL: process.env.FAULTS_LOG_LEVEL } : {}) });
  alice = await registerUser(base(), 'alice');
  bob = await registerUser(base(), 'bob');
  org = await createOrg(base(), alice);
  await addMember(base(), org, bob, 'member');
  ({ project, columns } = await createProject(base(), org));
  aliceSocket = await connect(base(), { token: alice.token });
  bobSocket = await connect(base(), { token: bob.token });
  aliceLedger = ackLedger(aliceSocket);
  bobLedger = ackLedger(bobSocket);
  await ok(aliceSocket, 'board:join', { projectId: project.id });
  await ok(bobSocket, 'board:join', { projectId: project.id });
  bobSeen = recordBoardEvents(bobSocket);
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  try {
    // Bounded: a server that hangs on close must not keep the cluster (and its directory) alive.
    if (node) await Promise.race([node.close(), new Promise((resolve) => setTimeout(resolve, 10_000).unref())]);
  } finally {
    await cluster?.destroy();
  }
});

beforeEach(({ onTestFailed }) => {
  onTestFailed(() => console.error(`private PostgreSQL log (tail):\n${cluster?.log()}`));
});

/** Emits `event` and waits (at most `ms`) for its ack; answers it and how long it took. */
function emitTimed<T = any>(
  socket: ClientSocket,
  event: string,
  payload: unknown,
  ms = REFUSAL_MS,
): Promise<{ answer: Ack<T>; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ack for ${event} within ${ms} ms`)), ms);
    (socket as Socket).emit(event, payload, (answer: Ack<T>) => {
      clearTimeout(timer);
      resolve({ answer, ms: Date.now() - started });
    });
  });
}

/** `/readyz`: status, body and how long it took to answer. */
async function readyz(): Promise<{ status: number; body: unknown; ms: number }> {
  const started = Date.now();
  const response = await fetch(`${base()}/readyz`, { signal: AbortSignal.timeout(REFUSAL_MS) });
  const body: unknown = await response.json();
  return { status: response.status, body, ms: Date.now() - started };
}

/** A socket connection attempt that settles within `ms`: the socket, or the `connect_error`. */
function connectWithin(auth: Record<string, unknown>, ms = REFUSAL_MS): Promise<ClientSocket> {
  return Promise.race([
    connect(base(), auth),
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`connection neither made nor refused within ${ms} ms`)), ms)),
  ]);
}

/** Bounded retries of a socket request until it is acknowledged ok (use a clientMutationId so a retry changes nothing twice). */
async function okEventually<T = any>(socket: ClientSocket, event: string, payload: unknown): Promise<T> {
  let data: T | undefined;
  await eventually(async () => {
    const answer = await request<T>(socket, event, payload);
    expect(answer, `${event} after recovery`).toMatchObject({ ok: true });
    data = (answer as { data: T }).data;
  }, RECOVERY_MS);
  return data!;
}

async function createTask(title: string): Promise<TaskJson> {
  const { task } = await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: todo(), title });
  return task;
}

/** Asserts the wire shape of a refusal for a lost database: UNAVAILABLE with the one safe message. */
function expectUnavailable(what: string, error: unknown): void {
  expect({ what, error }).toEqual({ what, error: { code: 'UNAVAILABLE', message: expect.any(String) } });
  const message = (error as { message: string }).message;
  expect(message, `${what}: internal detail in the message`).not.toMatch(INTERNAL_DETAIL);
  expect(message).toBe(UNAVAILABLE_MESSAGE);
}

function expectHttpUnavailable(what: string, answer: HttpAnswer): void {
  expect({ what, status: answer.status }).toEqual({ what, status: 503 });
  expect(Object.keys(answer.body ?? {}), `${what}: body`).toEqual(['error']);
  expectUnavailable(what, answer.body.error);
}

/** Waits (bounded) until /readyz answers 200 again. */
async function waitUntilReady(): Promise<void> {
  await eventually(async () => expect((await readyz()).status, '/readyz after PostgreSQL came back').toBe(200), RECOVERY_MS);
}

/** Makes sure the cluster runs and the server is ready: a failed earlier test may have left it down. */
async function ensureUp(): Promise<void> {
  if (!cluster!.running()) await cluster!.start();
  await waitUntilReady();
}

describe('while PostgreSQL is down', () => {
  it('stays up, refuses every change and join with UNAVAILABLE, broadcasts nothing, and recovers with seq continuing', async () => {
    await ensureUp();
    const toUpdate = await createTask('to update');
    const toMove = await createTask('to move');
    const toDelete = await createTask('to delete');
    const before = (await ok(bobSocket, 'board:join', { projectId: project.id })).seq as number;
    await eventually(() => expect(bobSeen.at(-1)?.seq ?? 0).toBe(before));
    const seenBefore = bobSeen.length;
    const aliceFrom = lastSentId(aliceLedger);
    const bobFrom = lastSentId(bobLedger);

    await cluster!.crash();

    // The process lives on and says it is not ready, within the readiness check's own 2 s.
    expect(await httpStatus(`${base()}/healthz`)).toBe(200);
    const notReady = await readyz();
    expect({ status: notReady.status, body: notReady.body }).toEqual({ status: 503, body: { status: 'unavailable', database: 'down' } });
    expect(notReady.ms, '/readyz took (its check gives up after 2 s; the rest is slack for a loaded machine)').toBeLessThan(4000);

    // Socket mutations: one ack each, UNAVAILABLE, in bounded time.
    const refusedCreateId = randomUUID();
    const attempts: Array<[string, unknown]> = [
      ['task:create', { projectId: project.id, columnId: todo(), title: 'refused create', clientMutationId: refusedCreateId }],
      ['task:update', { taskId: toUpdate.id, patch: { title: 'refused update', priority: 4 } }],
      ['task:move', { taskId: toMove.id, columnId: done() }],
      ['task:delete', { taskId: toDelete.id }],
    ];
    for (const [event, payload] of attempts) {
      const { answer, ms } = await emitTimed(aliceSocket, event, payload);
      expect(answer.ok, `${event} while PostgreSQL is down`).toBe(false);
      expectUnavailable(event, (answer as { error: unknown }).error);
      expect(ms, `${event} refusal took`).toBeLessThan(REFUSAL_MS);
    }

    // Updates of one board sent at once, which travel together: each refused, none left waiting.
    const together = await Promise.all(
      [1, 2, 3, 4, 5, 6].map((n) => emitTimed(aliceSocket, 'task:update', { taskId: toUpdate.id, patch: { title: `refused ${n}` } })),
    );
    for (const { answer, ms } of together) {
      expectUnavailable('task:update sent together', (answer as { error: unknown }).error);
      expect(ms, 'task:update sent together: refusal took').toBeLessThan(REFUSAL_MS);
    }

    // The same over HTTP: 503 UNAVAILABLE, nothing from inside.
    const slug = org.slug;
    const http: Array<[string, () => Promise<HttpAnswer>]> = [
      [
        'POST tasks',
        () =>
          api(
            base(),
            'POST',
            `/orgs/${slug}/projects/${project.id}/tasks`,
            { columnId: todo(), title: 'refused http create' },
            alice.token,
          ),
      ],
      ['PATCH task', () => api(base(), 'PATCH', `/orgs/${slug}/tasks/${toUpdate.id}`, { title: 'refused http update' }, alice.token)],
      ['POST move', () => api(base(), 'POST', `/orgs/${slug}/tasks/${toMove.id}/move`, { columnId: done() }, alice.token)],
      ['DELETE task', () => api(base(), 'DELETE', `/orgs/${slug}/tasks/${toDelete.id}`, undefined, alice.token)],
    ];
    for (const [what, attempt] of http) {
      const started = Date.now();
      expectHttpUnavailable(what, await attempt());
      expect(Date.now() - started, `${what} refusal took`).toBeLessThan(REFUSAL_MS);
    }

    // Joining (the watcher's own catch-up, and a fresh snapshot) is refused too, without a hang.
    for (const [who, socket, payload] of [
      ['bob (sinceSeq)', bobSocket, { projectId: project.id, sinceSeq: before }],
      ['alice (snapshot)', aliceSocket, { projectId: project.id }],
    ] as const) {
      const { answer, ms } = await emitTimed(socket, 'board:join', payload);
      expect(answer.ok, `board:join by ${who}`).toBe(false);
      expectUnavailable(`board:join by ${who}`, (answer as { error: unknown }).error);
      expect(ms).toBeLessThan(REFUSAL_MS);
    }

    // A new connection is refused at the handshake, not left hanging.
    const refusedConnection = await connectWithin({ token: bob.token }).then(
      (socket) => {
        socket.close();
        return new Error('connected while PostgreSQL is down');
      },
      (error: Error) => error,
    );
    expect(refusedConnection.message).toBe('UNAVAILABLE');

    // Every request got exactly one ack on the wire, and the watcher got no board:event.
    await barrier(bobSocket);
    await barrier(aliceSocket);
    expect(ackCounts(aliceLedger, aliceFrom).filter((a) => a.acks !== 1)).toEqual([]);
    expect(ackCounts(bobLedger, bobFrom).filter((a) => a.acks !== 1)).toEqual([]);
    expect(ackCounts(aliceLedger, aliceFrom).length).toBe(attempts.length + together.length + 2); // the changes, a join, a barrier
    expect(bobSeen.slice(seenBefore)).toEqual([]);
    expect(aliceSocket.connected && bobSocket.connected).toBe(true);
    expect(await httpStatus(`${base()}/healthz`)).toBe(200);

    // PostgreSQL comes back: ready again, and not one refused change was kept.
    await cluster!.start();
    await waitUntilReady();
    expect(await db('select seq from projects where id = $1', [project.id])).toEqual([{ seq: before }]);
    expect(await db('select seq from board_events where project_id = $1 and seq > $2', [project.id, before])).toEqual([]);
    expect(await db(`select title from tasks where project_id = $1 and title like 'refused%'`, [project.id])).toEqual([]);
    expect(
      await db('select id, title, priority, version, column_id from tasks where id = any($1) order by title', [
        [toUpdate.id, toMove.id, toDelete.id],
      ]),
    ).toEqual([
      { id: toDelete.id, title: 'to delete', priority: toDelete.priority, version: toDelete.version, column_id: todo() },
      { id: toMove.id, title: 'to move', priority: toMove.priority, version: toMove.version, column_id: todo() },
      { id: toUpdate.id, title: 'to update', priority: toUpdate.priority, version: toUpdate.version, column_id: todo() },
    ]);
    expect(await db('select count(*)::int as n from board_events where client_mutation_id = $1', [refusedCreateId])).toEqual([{ n: 0 }]);

    // Changes go through again, and the watcher (still in the room after its refused join) sees
    // them with seq continuing exactly where it stopped.
    const created = await okEventually(aliceSocket, 'task:create', {
      projectId: project.id,
      columnId: todo(),
      title: 'after recovery',
      clientMutationId: randomUUID(),
    });
    const updated = await ok(aliceSocket, 'task:update', { taskId: toUpdate.id, patch: { title: 'updated after recovery' } });
    const moved = await ok(aliceSocket, 'task:move', { taskId: toMove.id, columnId: done() });
    const deleted = await ok(aliceSocket, 'task:delete', { taskId: toDelete.id });
    const viaHttp = await api(
      base(),
      'POST',
      `/orgs/${slug}/projects/${project.id}/tasks`,
      { columnId: todo(), title: 'http after recovery' },
      alice.token,
    );
    expect(viaHttp.status).toBe(201);
    expect([created, updated, moved, deleted].map((d) => d.event.seq)).toEqual([before + 1, before + 2, before + 3, before + 4]);

    await eventually(() => expect(bobSeen.length - seenBefore).toBeGreaterThanOrEqual(5));
    await barrier(bobSocket);
    const after = bobSeen.slice(seenBefore);
    expect(after.map((e) => ({ seq: e.seq, type: e.type }))).toEqual([
      { seq: before + 1, type: 'task.created' },
      { seq: before + 2, type: 'task.updated' },
      { seq: before + 3, type: 'task.moved' },
      { seq: before + 4, type: 'task.deleted' },
      { seq: before + 5, type: 'task.created' },
    ]);
    expect((after[0]!.data as TaskEventData).task.id).toBe(created.task.id);
    expect((after[4]!.data as TaskEventData).task.id).toBe(viaHttp.body.task.id);
    expect(await db('select seq, type from board_events where project_id = $1 and seq > $2 order by seq', [project.id, before])).toEqual(
      after.map((e) => ({ seq: e.seq, type: e.type })),
    );

    // And a new connection is accepted again.
    const fresh = await connectWithin({ token: bob.token });
    expect(fresh.connected).toBe(true);
    fresh.close();
  }, 60_000);
});

/**
 * A connection of the test's own that holds the board's row lock in an open transaction: every
 * create then waits inside its transaction, after BEGIN, at `seq = seq + 1`.
 */
async function holdBoardLock(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: cluster!.url(DATABASE) });
  client.on('error', () => {}); // the crash ends it
  await client.connect();
  await client.query('begin');
  await client.query('select seq from projects where id = $1 for update', [project.id]);
  return client;
}

/** The server's connections waiting on a lock (the board's row lock held by `holdBoardLock`). */
async function lockWaiters(): Promise<number> {
  const [row] = await db<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`, [
    DATABASE,
  ]);
  return row!.n;
}

type Cut = 'frozen' | 'sent' | 'first-ack' | 'locked';

describe('a crash while changes are in flight', () => {
  // Twenty creates on one board, and PostgreSQL killed (`pg_ctl stop -m immediate`) at four moments:
  // - frozen: while they wait in the server's socket buffers, the server process stopped until
  //   PostgreSQL is down, so they start on pooled connections already dead (deterministic);
  // - sent: right as they are sent (a real race: connect, BEGIN or the first queries are cut);
  // - first-ack: once the first is acknowledged (the rest are queued inside their transactions on
  //   the board's row lock, or committing);
  // - locked: while the board's first waits inside its transaction on the board's row lock, held by
  //   the test (deterministically cut mid-transaction), and the rest wait their turn on the node.
  it.each<{ cut: Cut; when: string }>([
    { cut: 'frozen', when: 'before the server notices, on its dead pooled connections' },
    { cut: 'sent', when: 'as soon as they are sent' },
    { cut: 'first-ack', when: 'once the first is acknowledged' },
    { cut: 'locked', when: 'while they wait on the board lock inside their transactions' },
  ])(
    'keeps every acknowledged create and broadcasts only what was committed, crashed $when',
    async ({ cut }) => {
      await ensureUp();
      const before = (await ok(bobSocket, 'board:join', { projectId: project.id })).seq as number;
      await eventually(() => expect(bobSeen.at(-1)?.seq ?? 0).toBe(before));
      const seenBefore = bobSeen.length;
      const aliceFrom = lastSentId(aliceLedger);
      // Every pooled connection open and idle, so that the creates start on connections the crash kills.
      await Promise.all(Array.from({ length: 10 }, () => ok(aliceSocket, 'board:join', { projectId: project.id })));
      const holder = cut === 'locked' ? await holdBoardLock() : null;

      const prefix = `in flight ${cut} `;
      const payloads = Array.from({ length: 20 }, (_, i) => ({
        projectId: project.id,
        columnId: todo(),
        title: `${prefix}${i}`,
        clientMutationId: randomUUID(),
      }));
      const pending = payloads.map((payload) => emitTimed<TaskChangeData>(aliceSocket, 'task:create', payload));
      if (cut === 'frozen') {
        // After socket.io's write of the queued packets (a nextTick), before anything is read.
        await new Promise<void>((resolve) => process.nextTick(() => resolve(cluster!.crashWhileFrozen())));
      } else {
        if (cut === 'first-ack') await Promise.race(pending);
        if (holder)
          await eventually(async () => {
            expect(node!.server.ctx.inFlight.size).toBe(payloads.length);
            expect(await lockWaiters()).toBe(1); // the board's others wait their turn (`ctx.boardTurns`)
          }, 5000);
        await cluster!.crash();
      }
      await holder?.end().catch(() => {});
      const answers = await Promise.all(pending);
      // Cut before anything could commit: every one is refused (else the checks below judge an ordinary run).
      if (cut === 'frozen' || cut === 'locked') expect(answers.filter(({ answer }) => answer.ok)).toEqual([]);

      // Each one is answered, in bounded time, either ok or UNAVAILABLE (checked softly, so that the
      // durability checks below still run and report).
      for (const [i, { answer, ms }] of answers.entries()) {
        if (!answer.ok)
          expect
            .soft({ create: i, code: answer.error.code, message: answer.error.message })
            .toEqual({ create: i, code: 'UNAVAILABLE', message: UNAVAILABLE_MESSAGE });
        expect.soft(ms, `create #${i} took`).toBeLessThan(REFUSAL_MS);
      }
      await cluster!.start();
      await waitUntilReady();
      await barrier(aliceSocket);
      await barrier(bobSocket);
      // Exactly one ack each on the wire.
      expect(ackCounts(aliceLedger, aliceFrom).filter((a) => a.acks !== 1)).toEqual([]);

      const rows = await db<{ id: string; title: string }>('select id, title from tasks where project_id = $1 and starts_with(title, $2)', [
        project.id,
        prefix,
      ]);
      const events = await db<{ seq: number; type: string; task_id: string }>(
        `select seq, type, payload->'task'->>'id' as task_id from board_events where project_id = $1 and seq > $2 order by seq`,
        [project.id, before],
      );
      const committed = new Set(rows.map((r) => r.id));
      const committedSeq = new Map(events.map((e) => [e.seq, e.task_id]));

      // The log holds one event per committed create, numbered without a gap, and the board's seq agrees.
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => before + 1 + i));
      expect(events.every((e) => e.type === 'task.created')).toBe(true);
      expect(events.map((e) => e.task_id).sort()).toEqual([...committed].sort());
      expect(await db('select seq from projects where id = $1', [project.id])).toEqual([{ seq: before + events.length }]);

      // Every create acknowledged ok is in the database, under the seq its ack named.
      for (const { answer } of answers) {
        if (!answer.ok) continue;
        const { task, event } = answer.data;
        expect(committed.has(task.id), `acked create ${task.title} is missing after the crash`).toBe(true);
        expect(committedSeq.get(event!.seq)).toBe(task.id);
      }

      // Every event the watcher received names a committed row under its committed seq.
      const received = bobSeen.slice(seenBefore);
      expect(new Set(received.map((e) => e.seq)).size).toBe(received.length);
      for (const event of received) {
        const taskId = (event.data as TaskEventData).task.id;
        expect({ seq: event.seq, taskId, committed: committed.has(taskId) }).toEqual({
          seq: event.seq,
          taskId: committedSeq.get(event.seq),
          committed: true,
        });
      }

      // The watcher catches up on whatever it missed (a create may commit with its answer lost).
      const lastSeen = received.at(-1)?.seq ?? before;
      const catchUp = await okEventually<{ events: BoardEventJson[]; seq: number }>(bobSocket, 'board:join', {
        projectId: project.id,
        sinceSeq: lastSeen,
      });
      expect(catchUp.seq).toBe(before + events.length);
      expect(catchUp.events.map((e) => e.seq)).toEqual(events.filter((e) => e.seq > lastSeen).map((e) => e.seq));

      // Retrying every refused create with its clientMutationId ends with exactly one task per
      // create: one that had committed answers its original event, the others commit now, with seq
      // going on from the committed one.
      const retried: TaskChangeData[] = [];
      for (const [i, { answer }] of answers.entries()) if (!answer.ok) retried.push(await ok(aliceSocket, 'task:create', payloads[i]));
      for (const { task, event } of retried) if (committed.has(task.id)) expect(committedSeq.get(event!.seq)).toBe(task.id);
      const fresh = retried.filter(({ task }) => !committed.has(task.id)).map(({ event }) => event!.seq);
      expect(fresh).toEqual(fresh.map((_, i) => before + events.length + 1 + i));
      const titles = await db<{ title: string; n: number }>(
        'select title, count(*)::int as n from tasks where project_id = $1 and starts_with(title, $2) group by title',
        [project.id, prefix],
      );
      expect(titles.map((t) => `${t.title} ×${t.n}`).sort()).toEqual(payloads.map((p) => `${p.title} ×1`).sort());
      const last = before + events.length + fresh.length;
      expect(await db('select seq from projects where id = $1', [project.id])).toEqual([{ seq: last }]);
      // The watcher receives the new ones as they commit.
      if (fresh.length) await eventually(() => expect(bobSeen.at(-1)?.seq).toBe(last));
    },
    60_000,
  );
});

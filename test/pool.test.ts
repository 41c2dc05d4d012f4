import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectJson } from '../shared/wire.js';
import { addMember, createOrg, createProject, registerUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, request } from './support/sockets.js';

/** Longer than the pool lets a connection above its minimum sit idle (knex's 30 s). */
const QUIET_SPELL_MS = 32_000;

let db: TestDatabase;
let node: RunningServer;
let socket: ClientSocket;
let project: ProjectJson;
let columnId: string;
let alice: Awaited<ReturnType<typeof registerUser>>;
let org: Awaited<ReturnType<typeof createOrg>>;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  alice = await registerUser(node.url, 'alice');
  org = await createOrg(node.url, alice);
  const board = await createProject(node.url, org);
  project = board.project;
  columnId = board.columns[0]!.id;
  socket = await connect(node.url, { token: alice.token });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

/** The server's sessions on its database (it names itself `taskflow`), and when each began. */
const serverSessions = () =>
  db.query<{ pid: number; started: Date }>(
    `select pid, backend_start as started from pg_stat_activity where datname = $1 and application_name = 'taskflow'`,
    [db.name],
  );

describe('the connection pool', () => {
  it(
    'serves the first change after a quiet spell on a connection it kept, not a new one',
    async () => {
      // A new connection costs the change that waits for it a new PostgreSQL backend, its caches
      // and the statements prepared again: about 12 ms on the development machine, against 3–4.
      const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId, title: 'before the pause' });
      expect((await serverSessions()).length).toBeGreaterThan(0);
      await sleep(QUIET_SPELL_MS);
      const quietUntil = new Date();
      await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'after the pause' } });
      const sessions = await serverSessions();
      expect(sessions.length).toBeGreaterThan(0);
      expect(sessions.filter((session) => session.started >= quietUntil)).toEqual([]);
    },
    QUIET_SPELL_MS + 30_000,
  );
});

/** Members of the org, each on a socket of their own, and twelve cards of `board` (titled `${prefix}0`…) for them to change. */
async function membersAndCards(names: string[], board: Awaited<ReturnType<typeof createProject>>, prefix: string) {
  const sockets = await Promise.all(
    names.map(async (name) => {
      const user = await registerUser(node.url, name);
      await addMember(node.url, org, user, 'member');
      return connect(node.url, { token: user.token });
    }),
  );
  const cards = await Promise.all(
    Array.from({ length: 12 }, (_, i) =>
      ok(socket, 'task:create', { projectId: board.project.id, columnId: board.columns[0]!.id, title: `${prefix}${i}` }),
    ),
  );
  return [sockets, cards] as const;
}

describe("one board's row held for long", () => {
  it("keeps the node's other boards served: the board's changes wait their turn without holding connections", async () => {
    // Twelve moves by three people (four each run at once) on a board whose row another session
    // holds: more than the pool's ten connections, were each to wait for the row on one.
    const held = await createProject(node.url, org, 'Held');
    const [movers, tasks] = await membersAndCards(['ana', 'ben', 'cy'], held, 't');
    const release = await holdLock(db, `select 1 from projects where id = '${held.project.id}' for update`);
    const moves = tasks.map(({ task }, i) => request(movers[i % 3]!, 'task:move', { taskId: task.id, columnId: held.columns[1]!.id }));
    try {
      await eventually(async () => {
        expect(node.server.ctx.inFlight.size).toBe(12);
        expect(await lockWaiters(db)).toBeGreaterThan(0);
      });
      const started = performance.now();
      const elsewhere = await request(socket, 'task:create', { projectId: project.id, columnId, title: 'on another board' });
      expect(elsewhere).toMatchObject({ ok: true });
      expect(performance.now() - started).toBeLessThan(4_000); // not after the pool's 5-s wait for a connection
      expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
    } finally {
      await release();
    }
    expect((await Promise.all(moves)).map((answer) => (answer as { ok: boolean }).ok)).toEqual(Array(12).fill(true));
  });

  it("keeps the node's connections while the tasks table is locked: changes of rows it has not looked up yet wait without holding them", async () => {
    // Twelve changes of cards the node has not placed on their board yet, by three people, while
    // a migration, say, holds the tasks table: finding each card's board reads that table.
    const board = await createProject(node.url, org, 'Locked table');
    const [writers, tasks] = await membersAndCards(['dee', 'eli', 'fay'], board, 'c');
    const release = await holdLock(db, 'lock table tasks in access exclusive mode');
    const changes = tasks.map(({ task }, i) =>
      request(writers[i % 3]!, 'task:update', { taskId: task.id, patch: { title: `changed ${i}` } }),
    );
    try {
      await eventually(async () => {
        expect(node.server.ctx.inFlight.size).toBe(12);
        expect(await lockWaiters(db)).toBeGreaterThanOrEqual(2); // two lookups at once, each waiting on the table
      });
      // Everyone else is still served: an account read, a handshake, the node ready.
      const started = performance.now();
      const me = await fetch(`${node.url}/api/v1/me`, { headers: { authorization: `Bearer ${alice.token}` } });
      expect(me.status).toBe(200);
      await connect(node.url, { token: alice.token });
      expect(performance.now() - started).toBeLessThan(4_000); // not after the pool's 5-s wait for a connection
      expect((await fetch(`${node.url}/readyz`)).status).toBe(200);
      expect(await lockWaiters(db)).toBeLessThanOrEqual(2);
    } finally {
      await release();
    }
    expect((await Promise.all(changes)).map((answer) => (answer as { ok: boolean }).ok)).toEqual(Array(12).fill(true));
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectJson } from '../shared/wire.js';
import { createOrg, createProject, registerUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, request } from './support/sockets.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

// A database connection can go silent without breaking: a failover that leaves it half-open, a
// proxy that froze. TCP holds such a connection for a quarter of an hour or more, and with it the
// board whose message waits on it (every later change of that board queues behind) and its
// account's turns. Past the answer deadline, a node asks PostgreSQL whether that connection's
// session still works on something, and cuts the connection when it does not.
const DEADLINE_S = 2;
/** Long enough for a silent connection to be cut (the deadline, two checks) and a change to go through after. */
const RECOVERY_MS = 15_000;

let db: TestDatabase;
let proxy: TcpProxy;
let node: RunningServer;
let project: ProjectJson;
let taskId: string;
let socket: ClientSocket;

beforeAll(async () => {
  db = await createTestDatabase();
  proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
  const throughProxy = new URL(db.url);
  throughProxy.port = String(proxy.port);
  node = await startServer({ DATABASE_URL: throughProxy.toString(), ANSWER_DEADLINE: String(DEADLINE_S) });
  const org = await createOrg(node.url, await registerUser(node.url, 'alice'));
  const made = await createProject(node.url, org);
  project = made.project;
  socket = await connect(node.url, { token: org.owner.token });
  await ok(socket, 'board:join', { projectId: project.id });
  ({
    task: { id: taskId },
  } = await ok(socket, 'task:create', { projectId: project.id, columnId: made.columns[0]!.id, title: 'Before' }));
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await proxy?.close();
  await db?.drop();
});

/** How many events of the board carry `clientMutationId`. */
async function logged(clientMutationId: string): Promise<number> {
  const [row] = await db.query<{ n: number }>('select count(*)::int as n from board_events where client_mutation_id = $1', [
    clientMutationId,
  ]);
  return row!.n;
}

describe('a database connection that goes silent', () => {
  it("is cut soon after its deadline, and its board's changes go through again; the change it held is made by its retry, once", async () => {
    await ok(socket, 'task:update', { taskId, patch: { title: 'Warm' } });
    proxy.silenceOpen(); // the pool's connections, the board's among them

    const held = { taskId, patch: { title: 'Held' }, clientMutationId: 'held-by-silence' };
    expect(await request(socket, 'task:update', held)).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    let n = 0;
    await eventually(
      async () => expect(await request(socket, 'task:update', { taskId, patch: { title: `After ${++n}` } })).toMatchObject({ ok: true }),
      RECOVERY_MS,
    );

    // Its message never reached PostgreSQL: the retry makes the change, and only the retry.
    expect(await logged(held.clientMutationId)).toBe(0);
    expect((await ok(socket, 'task:update', held)).task.title).toBe('Held');
    expect(await logged(held.clientMutationId)).toBe(1);
  }, 30_000);

  it("is cut under the ORM's work too (a column's creation), which goes through again after", async () => {
    proxy.silenceOpen();
    expect(await request(socket, 'column:create', { projectId: project.id, name: 'Held' })).toMatchObject({
      ok: false,
      error: { code: 'UNAVAILABLE' },
    });
    await eventually(
      async () => expect(await request(socket, 'column:create', { projectId: project.id, name: 'After' })).toMatchObject({ ok: true }),
      RECOVERY_MS,
    );
  }, 30_000);

  it('is not mistaken for a change that PostgreSQL keeps waiting on a lock: that one commits when the lock goes, however late', async () => {
    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    try {
      const change = { taskId, patch: { title: 'Waited long' }, clientMutationId: 'waited-long' };
      expect(await request(socket, 'task:update', change)).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      // PostgreSQL is asked about it more often than it takes to cut a silent one, and says it works.
      const asked = node.server.silentConnections.asks;
      await eventually(() => expect(node.server.silentConnections.asks).toBeGreaterThanOrEqual(asked + 3), RECOVERY_MS);
      expect(await lockWaiters(db)).toBe(1);
      await release();
      await eventually(async () => expect(await logged(change.clientMutationId)).toBe(1));
      expect((await ok(socket, 'task:update', change)).task.title).toBe('Waited long');
    } finally {
      await release();
    }
  }, 30_000);

  it("ends its session where PostgreSQL holds it idle in its transaction, so the board's row it locked is free again for every node", async () => {
    // A change takes the board's row, and its answer is lost on the way: PostgreSQL holds the
    // session idle in its transaction, the row locked, the cut unheard on a half-open path.
    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    try {
      const held = request(socket, 'column:create', { projectId: project.id, name: 'Lost answer' });
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      proxy.silenceOpen();
      await release();
      expect(await held).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    } finally {
      await release();
    }
    // The session ended, well before PostgreSQL's own minute: another node may take the board's row at once.
    await eventually(async () => {
      const stranded = await db.query(
        "select pid from pg_stat_activity where datname = current_database() and state like 'idle in transaction%'",
      );
      expect(stranded).toEqual([]);
    }, RECOVERY_MS);
    expect(await db.query('select id from projects where id = $1 for update nowait', [project.id])).toHaveLength(1);
    await eventually(
      async () =>
        expect(await request(socket, 'column:create', { projectId: project.id, name: 'After the lost answer' })).toMatchObject({
          ok: true,
        }),
      RECOVERY_MS,
    );
  }, 30_000);
});

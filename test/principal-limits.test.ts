import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RUNNING_PER_PRINCIPAL } from '../server/account-lanes.js';
import { api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, eventually, request } from './support/sockets.js';

// What one account can take from a node, however many sockets it opens. Node A has the default
// limits; node R lets a socket send five events a second.
let db: TestDatabase;
let nodeA: RunningServer;
let nodeR: RunningServer;
let mallory: TestUser;
let malloryOrg: TestOrg;
let alice: TestUser;
let aliceOrg: TestOrg;
let projectId: string;
/** Boards of mallory's org, one for each join of a flood: a socket's joins of one board run one at a time, and joins waiting for one board share its read. */
let boardIds: string[];

beforeAll(async () => {
  db = await createTestDatabase();
  nodeA = await startServer({ DATABASE_URL: db.url });
  nodeR = await startServer({ DATABASE_URL: db.url, SOCKET_RATE_LIMIT: '5' });
  [mallory, alice] = await Promise.all([registerUser(nodeA.url, 'mallory'), registerUser(nodeA.url, 'alice')]);
  [malloryOrg, aliceOrg] = await Promise.all([createOrg(nodeA.url, mallory), createOrg(nodeA.url, alice)]);
  projectId = (await createProject(nodeA.url, malloryOrg)).project.id;
  boardIds = [];
  for (let i = 0; i < 30; i++) boardIds.push((await createProject(nodeA.url, malloryOrg, `Board ${i}`)).project.id);
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  await Promise.all([nodeA?.close(), nodeR?.close()]);
  await db?.drop();
});

describe("one account's sockets", () => {
  it("have a rate limit each, as DESIGN's SOCKET_RATE_LIMIT says: one socket's flood does not refuse another's events", async () => {
    const [flooding, other] = await Promise.all([1, 2].map(() => connect(nodeR.url, { token: mallory.token })));
    const flood = await Promise.all(Array.from({ length: 15 }, () => request(flooding!, 'board:leave', { projectId })));
    expect(flood.filter((answer) => answer.ok)).toHaveLength(10); // a burst of twice the rate
    expect(flood.filter((answer) => !answer.ok && answer.error.code === 'RATE_LIMITED')).toHaveLength(5);
    const others = await Promise.all(Array.from({ length: 10 }, () => request(other!, 'board:leave', { projectId })));
    expect(others.every((answer) => answer.ok)).toBe(true);
  });

  it(`run ${RUNNING_PER_PRINCIPAL} events at a time, so a flood of slow joins leaves the node's connections to others`, async () => {
    const sockets = await Promise.all([1, 2].map(() => connect(nodeA.url, { token: mallory.token })));
    const release = await holdLock(db, 'lock table tasks in access exclusive mode'); // every board read waits
    const joins: Promise<unknown>[] = [];
    try {
      for (const [s, socket] of sockets.entries())
        for (let i = 0; i < 15; i++) joins.push(request(socket, 'board:join', { projectId: boardIds[s * 15 + i] }));
      await eventually(async () => expect(await lockWaiters(db)).toBe(RUNNING_PER_PRINCIPAL));
      // The node has ten connections: without the lane, thirty joins would hold them all.
      const theirs = await api(nodeA.url, 'GET', `/orgs/${aliceOrg.slug}/projects`, undefined, alice.token);
      expect(theirs.status).toBe(200); // not 503 after the pool's 5 s wait for a connection
      expect(await lockWaiters(db)).toBe(RUNNING_PER_PRINCIPAL);
    } finally {
      await release();
    }
    const answers = (await Promise.all(joins)) as Array<{ ok: boolean }>;
    expect(answers.filter((answer) => answer.ok)).toHaveLength(30);
  });

  it("let one socket's burst wait at most (twice SOCKET_RATE_LIMIT), however many sockets send: the rest are RATE_LIMITED at once", async () => {
    const sockets = await Promise.all([1, 2].map(() => connect(nodeR.url, { token: mallory.token })));
    const release = await holdLock(db, 'lock table tasks in access exclusive mode'); // every board read waits
    const answers: Array<{ ok: boolean; error?: { code: string } }> = [];
    const joins: Promise<unknown>[] = [];
    try {
      // Ten from each socket: within each socket's own limit (a burst of 10).
      for (const [s, socket] of sockets.entries())
        for (let i = 0; i < 10; i++)
          joins.push(request(socket, 'board:join', { projectId: boardIds[s * 10 + i] }).then((answer) => answers.push(answer)));
      await eventually(async () => expect(await lockWaiters(db)).toBe(RUNNING_PER_PRINCIPAL));
      // Four run, ten wait: the other six are refused while the rest still wait.
      await eventually(() => expect(answers.filter((answer) => answer.error?.code === 'RATE_LIMITED')).toHaveLength(6));
      expect(answers).toHaveLength(6);
    } finally {
      await release();
    }
    await Promise.all(joins);
    expect(answers.filter((answer) => answer.ok)).toHaveLength(14);
  });
});

describe("one account's HTTP requests", () => {
  const boardRead = (url: string) => api(url, 'GET', `/orgs/${malloryOrg.slug}/projects/${projectId}`, undefined, mallory.token);

  it(`run in the same lane as its socket events, ${RUNNING_PER_PRINCIPAL} at a time: a flood of slow requests leaves the node's connections to others`, async () => {
    const socket = await connect(nodeA.url, { token: mallory.token });
    const release = await holdLock(db, 'lock table tasks in access exclusive mode'); // every board read waits
    const reads: Array<Promise<{ status: number }>> = [];
    let join: Promise<{ ok: boolean }>;
    try {
      for (let i = 0; i < 20; i++) reads.push(boardRead(nodeA.url));
      await eventually(async () => expect(await lockWaiters(db)).toBe(RUNNING_PER_PRINCIPAL));
      join = request(socket, 'board:join', { projectId }); // waits its turn behind them
      const theirs = await api(nodeA.url, 'GET', `/orgs/${aliceOrg.slug}/projects`, undefined, alice.token);
      expect(theirs.status).toBe(200); // not 503 after the pool's 5 s wait for a connection
      // A refresh reads nothing in its handler: it is not held behind her stuck reads.
      expect((await api(nodeA.url, 'POST', '/auth/refresh', undefined, mallory.token)).status).toBe(200);
      expect(await lockWaiters(db)).toBe(RUNNING_PER_PRINCIPAL);
    } finally {
      await release();
    }
    expect((await Promise.all(reads)).map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect((await join!).ok).toBe(true);
  });

  it('are refused at once (429 RATE_LIMITED) past a burst waiting (twice SOCKET_RATE_LIMIT)', async () => {
    const release = await holdLock(db, 'lock table tasks in access exclusive mode');
    const answers: Array<{ status: number; code?: string }> = [];
    const reads: Promise<unknown>[] = [];
    try {
      for (let i = 0; i < 20; i++)
        reads.push(boardRead(nodeR.url).then(({ status, body }) => answers.push({ status, code: body?.error?.code })));
      await eventually(async () => expect(await lockWaiters(db)).toBe(RUNNING_PER_PRINCIPAL));
      // Four run, ten wait: the other six are refused while the rest still wait.
      await eventually(() => expect(answers).toEqual(Array(6).fill({ status: 429, code: 'RATE_LIMITED' })));
    } finally {
      await release();
    }
    await Promise.all(reads);
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(14);
  });
});

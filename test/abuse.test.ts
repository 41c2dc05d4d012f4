import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ackCounts, ackLedger, lastSentId } from './support/ack-ledger.js';
import { api, createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, ok, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let alice: TestUser;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url, SOCKET_RATE_LIMIT: '5' });
  alice = await registerUser(node.url, 'alice');
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

/** More events at once than a socket at rate 5 may have refused (250): a flood, disconnected. */
const FLOOD = 400;

const login = (email: string, password: string) =>
  fetch(`${node.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });

describe('socket event rate limit', () => {
  it('answers events over the limit with RATE_LIMITED, each exactly once, and disconnects a sustained flood', async () => {
    const org = await createOrg(node.url, alice);
    const { project } = await createProject(node.url, org);
    const socket = await connect(node.url, { token: alice.token });
    const ledger = ackLedger(socket);
    const disconnected = new Promise<string>((resolve) => socket.on('disconnect', resolve));
    const burst = Array.from(
      { length: 20 },
      () =>
        new Promise<{ ok: boolean; error?: { code: string } }>((resolve) => socket.emit('board:leave', { projectId: project.id }, resolve)),
    );
    const codes = (await Promise.all(burst)).map((answer) => (answer.ok ? 'ok' : answer.error!.code));
    expect(codes.filter((code) => code === 'ok')).toHaveLength(10); // bursts of twice the rate
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(10);
    const burstUpTo = lastSentId(ledger);

    // A flood: at rate 5, refusals are allowed 50 a second, and 250 at most at once.
    for (let i = 0; i < FLOOD && socket.connected; i++) socket.emit('board:leave', { projectId: project.id }, () => {});
    expect(await disconnected).toBe('io server disconnect');
    // Nothing arrives after the disconnect: by then every answer to the burst is in, each once.
    expect(
      ackCounts(ledger, -1)
        .filter((sent) => sent.id <= burstUpTo)
        .map((sent) => sent.acks),
    ).toEqual(Array(20).fill(1));
    // The limit is the user's, not the node's: someone else is served meanwhile.
    const someoneElse = await connect(node.url, { token: (await registerUser(node.url, 'bystander')).token });
    expect(await ok(someoneElse, 'board:leave', { projectId: project.id })).toEqual({});
  });

  it("answers every event of a bot's burst sent at once, ok or RATE_LIMITED, and keeps its socket", async () => {
    const org = await createOrg(node.url, alice);
    const { project } = await createProject(node.url, org);
    const socket = await connect(node.url, { token: alice.token });
    const ledger = ackLedger(socket);
    const answers = await Promise.all(Array.from({ length: 200 }, () => request(socket, 'board:leave', { projectId: project.id })));
    const refused = answers.filter((answer) => !answer.ok);
    expect(answers.length - refused.length).toBeGreaterThanOrEqual(10);
    expect(refused.map((answer) => answer.error.code)).toEqual(Array(refused.length).fill('RATE_LIMITED'));
    expect(ackCounts(ledger, -1).map((sent) => sent.acks)).toEqual(Array(200).fill(1));
    expect(socket.connected).toBe(true);
    // Sent again after the delay named, an event is let through.
    const { retryAfterMs } = refused.at(-1)!.error.details as { retryAfterMs: number };
    await new Promise((resolve) => setTimeout(resolve, retryAfterMs));
    expect(await ok(socket, 'board:leave', { projectId: project.id })).toEqual({});
  });

  it('answers every event it took before disconnecting a flood, changes that committed included', async () => {
    const org = await createOrg(node.url, alice);
    const { project, columns } = await createProject(node.url, org);
    const socket = await connect(node.url, { token: alice.token });
    const disconnected = new Promise<string>((resolve) => socket.on('disconnect', resolve));
    const answered: Array<{ event: string; ok: boolean; code?: string }> = [];
    const send = (event: string, payload: unknown) =>
      socket.emit(event as 'board:leave', payload as never, (answer: { ok: boolean; error?: { code: string } }) =>
        answered.push({ event, ok: answer.ok, code: answer.error?.code }),
      );
    // A burst's worth of creates (four run at once, the rest wait their turn), then a flood.
    for (let i = 0; i < 10; i++)
      send('task:create', { projectId: project.id, columnId: columns[0]!.id, title: `flood ${i}`, clientMutationId: `flood-${i}` });
    for (let i = 0; i < FLOOD; i++) send('board:leave', { projectId: project.id });

    expect(await disconnected).toBe('io server disconnect');
    const created = answered.filter((answer) => answer.event === 'task:create');
    expect(created).toEqual(Array.from({ length: 10 }, () => ({ event: 'task:create', ok: true })));
    // The refusal that found the flood's allowance (250) used up was answered before the disconnect.
    const refusedLeaves = answered.filter((answer) => answer.event === 'board:leave' && answer.code === 'RATE_LIMITED');
    expect(refusedLeaves.length).toBeGreaterThan(250);
    const [tasks] = await db.query<{ count: string }>('select count(*) from tasks where project_id = $1', [project.id]);
    expect(Number(tasks!.count)).toBe(10);
  });

  it('lets no more than a burst (twice the rate) through at once, also where a fixed two-second window would restart', async () => {
    const org = await createOrg(node.url, alice);
    const { project } = await createProject(node.url, org);
    const socket = await connect(node.url, { token: alice.token });
    const burst = async (count: number) => {
      const answers = await Promise.all(Array.from({ length: count }, () => request(socket, 'board:leave', { projectId: project.id })));
      return answers.filter((answer) => answer.ok).length;
    };
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    expect(await burst(1)).toBe(1);
    await wait(1900); // the bucket is full again (rate 5: a burst of 10)
    const spanStarted = performance.now();
    const first = await burst(10);
    await wait(200); // past two seconds from the first event
    const second = await burst(10);
    const spanSeconds = (performance.now() - spanStarted) / 1000;
    // A burst of 10, plus what 5 a second refills over the span (a window restarting at 2 s let 19 through).
    expect(first + second).toBeLessThanOrEqual(10 + Math.ceil(5 * spanSeconds));
    expect(first).toBe(10);
  });
});

describe('login throttling', () => {
  it('answers 429 with Retry-After once an account has used up its failed logins, even for the right password', async () => {
    const bob = await registerUser(node.url, 'bob');
    for (let i = 0; i < 10; i++) expect((await login(bob.email, 'wrong password')).status).toBe(401);
    const throttled = await login(bob.email, 'correct horse battery');
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await throttled.json()).error.code).toBe('RATE_LIMITED');
    expect((await login(alice.email, 'correct horse battery')).status).toBe(200);
  });

  it('throttles an unknown email exactly like a known one', async () => {
    const ghost = 'nobody-here@example.test';
    for (let i = 0; i < 10; i++) expect((await login(ghost, 'whatever')).status).toBe(401);
    expect((await login(ghost, 'whatever')).status).toBe(429);
  });

  it('gives an unknown email the same answer, in about the same time, as a wrong password', async () => {
    const carol = await registerUser(node.url, 'carol');
    const time = async (email: string) => {
      const started = performance.now();
      const response = await login(email, 'not the password');
      return { ms: performance.now() - started, body: await response.text(), status: response.status };
    };
    const known: number[] = [];
    const unknown: number[] = [];
    for (let i = 0; i < 4; i++) {
      const a = await time(carol.email);
      const b = await time(`ghost-${i}@example.test`);
      expect(b.status).toBe(a.status);
      expect(b.body).toBe(a.body);
      known.push(a.ms);
      unknown.push(b.ms);
    }
    const median = (values: number[]) => values.sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
    const ratio = median(unknown) / median(known);
    // Wide bounds for a loaded machine: a path that skipped the hash would answer a hundred times sooner.
    expect(ratio).toBeGreaterThan(0.25);
    expect(ratio).toBeLessThan(4);
  });
});

describe('the answer to a throttled login', () => {
  it('has the error shape and names the code', async () => {
    const dave = await registerUser(node.url, 'dave');
    for (let i = 0; i < 10; i++) await login(dave.email, 'nope');
    const answer = await api(node.url, 'POST', '/auth/login', { email: dave.email, password: 'nope' });
    expect(answer).toMatchObject({ status: 429, body: { error: { code: 'RATE_LIMITED' } } });
  });
});

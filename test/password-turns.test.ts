import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordTurns } from '../server/auth/password-turns.js';
import { registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { eventually } from './support/sockets.js';

// Password work (an argon2id hash or check: 64 MiB, about 0.2 s of a core) runs on libuv's four
// threads. One account's logins sent at once with its right password, or one address's sign-ups,
// must not make everyone else's login wait behind them.
let db: TestDatabase;
let node: RunningServer;
let flooder: TestUser;
let bystander: TestUser;

beforeAll(async () => {
  db = await createTestDatabase();
  // Behind a proxy on 127.0.0.1, so that each client names its address; the answer deadline is
  // not what these tests judge.
  node = await startServer({ DATABASE_URL: db.url, TRUST_PROXY: '127.0.0.1', ANSWER_DEADLINE: '120' });
  [flooder, bystander] = [await registerUser(node.url, 'flooder'), await registerUser(node.url, 'bystander')];
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

async function post(path: string, body: unknown, address: string, on = node): Promise<number> {
  const response = await fetch(`${on.url}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
  return response.status;
}

const login = (user: TestUser, address: string, on = node) =>
  post('/auth/login', { email: user.email, password: 'correct horse battery' }, address, on);
const signUp = (address: string) =>
  post(
    '/auth/register',
    { email: `new-${randomUUID().slice(0, 8)}@example.test`, password: 'correct horse battery', name: 'New' },
    address,
  );

/** Sends `flood` at once, then `other`; answers where `other`'s answer came among the flood's, each answered with its status. */
async function placeAmong(flood: Array<[send: () => Promise<number>, status: number]>, other: () => Promise<number>): Promise<number> {
  const answered: string[] = [];
  const track = async (who: string, request: Promise<number>, status: number) => {
    expect(await request).toBe(status);
    answered.push(who);
  };
  const flooding = flood.map(([send, status]) => track('flood', send(), status));
  await track('other', other(), 200);
  await Promise.all(flooding);
  return answered.indexOf('other');
}

describe('password work takes turns', () => {
  it("answers another account's login before ten logins of one account, sent first, are through", async () => {
    // Ten: as many as the failed-login throttle lets one account have waiting at once.
    const place = await placeAmong(
      Array.from({ length: 10 }, () => [() => login(flooder, '203.0.113.1'), 200]),
      () => login(bystander, '203.0.113.2'),
    );
    // One at a time for the flooding account, so the bystander's check runs beside its first;
    // first come, first served, it ran only once seven of them were done.
    expect(place).toBeLessThan(3);
  }, 60_000);

  it('answers a login from another address before eight sign-ups from one address, sent first, are through', async () => {
    const place = await placeAmong(
      Array.from({ length: 8 }, () => [() => signUp('203.0.113.3'), 201]),
      () => login(bystander, '203.0.113.4'),
    );
    // Two at a time for the signing-up address; first come, first served, the login waited for five.
    expect(place).toBeLessThan(4);
  }, 60_000);

  it("does not let one address's queue hold up an account's owner logging in from elsewhere", async () => {
    // Sign-ups fill the address's queue, then a wrong password for the owner's account waits in it.
    const place = await placeAmong(
      [
        ...Array.from({ length: 8 }, (): [() => Promise<number>, number] => [() => signUp('203.0.113.7'), 201]),
        [() => post('/auth/login', { email: bystander.email, password: 'a wrong guess' }, '203.0.113.7'), 401],
      ],
      () => login(bystander, '203.0.113.8'),
    );
    // The guess waits for its address's turn holding none of the account's: the owner's login goes first.
    expect(place).toBeLessThan(4);
  }, 60_000);
});

describe('password work no one waits for', () => {
  let hurried: RunningServer;
  const logged: Array<{ level: number; msg: string }> = [];

  beforeAll(async () => {
    hurried = await startServer(
      { DATABASE_URL: db.url, TRUST_PROXY: '127.0.0.1', ANSWER_DEADLINE: '1', LOG_LEVEL: 'warn' },
      { logStream: { write: (line) => logged.push(JSON.parse(line)) } },
    );
  });

  afterAll(async () => {
    await hurried?.close();
  });

  it('is not done once its request was answered 503 at the deadline: no account for a sign-up told it failed', async () => {
    // Forty sign-ups from one address, two hashed at a time: several seconds of work against a
    // deadline of one.
    const emails = Array.from({ length: 40 }, () => `crowd-${randomUUID().slice(0, 8)}@example.test`);
    const answers = await Promise.all(
      emails.map((email) =>
        fetch(`${hurried.url}/api/v1/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
          body: JSON.stringify({ email, password: 'correct horse battery', name: 'Crowd' }),
        }),
      ),
    );
    const made = emails.filter((_, i) => answers[i]!.status === 201);
    const late = emails.filter((_, i) => answers[i]!.status === 503);
    expect(made.length + late.length).toBe(emails.length);
    expect(late.length).toBeGreaterThan(2);
    // Answered only once the address's queue is through (the hashes at work when the deadline
    // struck may still hold it a moment): every piece before it is settled.
    await eventually(async () => expect(await login(bystander, '203.0.113.9', hurried)).toBe(200));
    // Work given up after its answer is no error of the server's (fastify logs a late failure so).
    expect(logged.filter((line) => line.level >= 50)).toEqual([]);
    const rows = (await db.query<{ email: string }>('select email from users where email = any($1)', [emails])).map((row) => row.email);
    expect(rows).toEqual(expect.arrayContaining(made));
    // Of those answered 503, only a sign-up whose write was already under way as the deadline
    // struck may commit (at most the two at work then), as any change may (README).
    expect(rows.length - made.length).toBeLessThanOrEqual(2);
  }, 60_000);
});

describe('PasswordTurns', () => {
  it('answers RATE_LIMITED at once, with a second to wait, past its pieces waiting for one address, and does none of that work', async () => {
    const turns = new PasswordTurns(2);
    const worker = { address: '203.0.113.10' };
    const answers = await Promise.allSettled(Array.from({ length: 6 }, () => turns.hash(worker, 'correct horse battery')));
    const refused = answers.flatMap((answer) => (answer.status === 'rejected' ? [answer.reason] : []));
    expect(answers.filter((answer) => answer.status === 'fulfilled')).toHaveLength(4); // two at work, two waiting
    expect(refused).toEqual([0, 1].map(() => expect.objectContaining({ code: 'RATE_LIMITED', details: { retryAfterSeconds: 1 } })));
  });

  it('answers UNAVAILABLE, with no hash, for a piece whose client stopped waiting before or while it ran', async () => {
    const turns = new PasswordTurns();
    const address = '203.0.113.11';
    let waitingWanted = true;
    let runningWanted = true;
    const running = [turns.hash({ address, stillWanted: () => runningWanted }, 'first one'), turns.hash({ address }, 'second one')];
    const waiting = turns.hash({ address, stillWanted: () => waitingWanted }, 'third one');
    waitingWanted = runningWanted = false; // answered at the deadline, say
    expect(await Promise.allSettled([...running, waiting])).toEqual([
      { status: 'rejected', reason: expect.objectContaining({ code: 'UNAVAILABLE' }) },
      { status: 'fulfilled', value: expect.stringMatching(/^\$argon2id\$/) },
      { status: 'rejected', reason: expect.objectContaining({ code: 'UNAVAILABLE' }) },
    ]);
  });
});

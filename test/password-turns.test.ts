import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PasswordTurns } from '../server/auth/password-turns.js';
import { registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';

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

async function post(path: string, body: unknown, address: string): Promise<number> {
  const response = await fetch(`${node.url}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': address },
    body: JSON.stringify(body),
  });
  await response.body?.cancel();
  return response.status;
}

const login = (user: TestUser, address: string) => post('/auth/login', { email: user.email, password: 'correct horse battery' }, address);
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
  it('answers RATE_LIMITED at once, with Retry-After, past a few seconds of password work waiting for one address, and does none of it', async () => {
    // Waiting on, such work would be answered 503 at the deadline and still be done afterwards:
    // an account made for a client told its sign-up failed.
    const emails = Array.from({ length: 40 }, () => `crowd-${randomUUID().slice(0, 8)}@example.test`);
    const answers = await Promise.all(
      emails.map((email) =>
        fetch(`${node.url}/api/v1/auth/register`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' },
          body: JSON.stringify({ email, password: 'correct horse battery', name: 'Crowd' }),
        }),
      ),
    );
    const made = emails.filter((_, i) => answers[i]!.status === 201);
    const limited = answers.filter((answer) => answer.status === 429);
    expect(made.length + limited.length).toBe(emails.length);
    expect(made.length).toBeGreaterThanOrEqual(PasswordTurns.MOST_WAITING);
    expect(limited.length).toBeGreaterThan(0);
    for (const answer of limited) {
      expect(answer.headers.get('retry-after')).toBe('1');
      expect((await answer.json()).error.code).toBe('RATE_LIMITED');
    }
    const rows = await db.query<{ email: string }>('select email from users where email = any($1)', [emails]);
    expect(rows.map((row) => row.email).sort()).toEqual([...made].sort());
    expect(await login(bystander, '203.0.113.9')).toBe(200); // the address is served again once its queue is through
  }, 60_000);
});

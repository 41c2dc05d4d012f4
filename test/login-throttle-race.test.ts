import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { registerUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RedisProcess, startRedis } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';

// Failed logins sent at once must not all be judged: each takes its attempt before the slow
// password hash, so the limits hold however many arrive together. Each test gets a fresh server
// and, in Redis, a Redis of its own, so the counts (all from 127.0.0.1) start at zero.
let db: TestDatabase;
let node: RunningServer | undefined;
let redis: RedisProcess | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
});

afterEach(async () => {
  await node?.close();
  await redis?.stop();
  node = redis = undefined;
});

afterAll(async () => {
  await db?.drop();
});

const login = (email: string, password: string) =>
  fetch(`${node!.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });

async function statuses(responses: Response[]): Promise<Record<number, number>> {
  const count: Record<number, number> = {};
  for (const response of responses) {
    count[response.status] = (count[response.status] ?? 0) + 1;
    await response.body?.cancel();
  }
  return count;
}

const start = async (withRedis: boolean) => {
  redis = withRedis ? await startRedis() : undefined;
  // Tens of password checks at once take a while on a busy two-core machine; the answer deadline
  // (a 503 past it) is not what these tests judge.
  node = await startServer({ DATABASE_URL: db.url, REDIS_URL: redis?.url, ANSWER_DEADLINE: '120' });
};

describe.each([
  ['in memory (no REDIS_URL, as the embedded mode runs)', false],
  ['in Redis', true],
])('login throttling %s', (_, withRedis) => {
  it('judges at most 10 of 30 wrong passwords sent at once for one account, and then refuses the right one', async () => {
    await start(withRedis);
    const victim = await registerUser(node!.url, 'victim');
    const guesses = await Promise.all(Array.from({ length: 30 }, (_, i) => login(victim.email, `wrong guess ${i}`)));
    expect(await statuses(guesses)).toEqual({ 401: 10, 429: 20 });

    const right = await login(victim.email, 'correct horse battery');
    expect(right.status).toBe(429);
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await right.json()).error.code).toBe('RATE_LIMITED');
  }, 60_000);
});

// Both stores go through the same attempt, which the test above holds in each; this one is costly
// (50 password hashes of 64 MiB each, four at a time), so it runs once, in Redis.
describe('login throttling per IP', () => {
  it('judges at most 50 of 70 wrong logins sent at once from one IP, each for another email', async () => {
    await start(true);
    const known = await registerUser(node!.url, 'known');
    const guesses = await Promise.all(Array.from({ length: 70 }, () => login(`ghost-${randomUUID()}@example.test`, 'whatever')));
    expect(await statuses(guesses)).toEqual({ 401: 50, 429: 20 });
    expect((await login(known.email, 'correct horse battery')).status).toBe(429);
    // A refused login leaves nothing under its email, which the client chose: only the 50 judged
    // are counted, however many new addresses the IP goes on trying for the window.
    const store = new Redis(redis!.url);
    try {
      expect(await store.keys('taskflow:login:account:*')).toHaveLength(50);
    } finally {
      store.disconnect();
    }
  }, 120_000);
});

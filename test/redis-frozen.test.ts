import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RedisProcess, startRedis } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';

// A Redis that stops answering without closing its connections (a frozen host, SIGSTOP here) must
// not hold up what only uses it on the side: a login's throttle counts in memory meanwhile.
let db: TestDatabase;
let redis: RedisProcess;
let node: RunningServer;
let user: TestUser;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await startRedis();
  node = await startServer({ DATABASE_URL: db.url, REDIS_URL: redis.url });
  user = await registerUser(node.url, 'frozen');
});

afterAll(async () => {
  if (redis?.running()) process.kill(redis.pid, 'SIGCONT');
  await node?.close();
  await redis?.stop();
  await db?.drop();
});

describe('a Redis that stops answering', () => {
  it('does not hold up a login: right and wrong passwords are answered in a few seconds', async () => {
    process.kill(redis.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const [right, wrong] = await Promise.all([
        api(node.url, 'POST', '/auth/login', { email: user.email, password: 'correct horse battery' }),
        api(node.url, 'POST', '/auth/login', { email: user.email, password: 'not the password' }),
      ]);
      expect(right.status).toBe(200);
      expect(wrong.status).toBe(401);
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
  });
});

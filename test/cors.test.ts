import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';

const ALLOWED = 'https://board.example';
let db: TestDatabase;
let node: RunningServer;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url, CORS_ORIGINS: ALLOWED });
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

const preflight = (origin: string, method: string) =>
  fetch(`${node.url}/api/v1/orgs/acme/tasks/00000000-0000-4000-8000-000000000000`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
  });

describe('CORS_ORIGINS', () => {
  it('lets an allowed origin use every method the API answers to, with its Authorization header', async () => {
    for (const method of ['GET', 'POST', 'PATCH', 'DELETE']) {
      const answer = await preflight(ALLOWED, method);
      expect(answer.status).toBeLessThan(300);
      expect(answer.headers.get('access-control-allow-origin')).toBe(ALLOWED);
      expect(answer.headers.get('access-control-allow-methods')?.split(/,\s*/)).toContain(method);
      expect(answer.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    }
  });

  it('gives any other origin no leave to read answers', async () => {
    const answer = await preflight('https://evil.example', 'PATCH');
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    const read = await fetch(`${node.url}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
  });
});

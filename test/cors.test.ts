import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.js';
import { registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer, TEST_JWT_SECRET } from './support/server.js';
import { closeAllSockets, connect } from './support/sockets.js';

const ALLOWED = 'https://board.example';
let db: TestDatabase;
let node: RunningServer;
let sameOriginOnly: RunningServer;
let ana: TestUser;

beforeAll(async () => {
  db = await createTestDatabase();
  // Written as people write it, with a trailing slash, and a second origin after it.
  node = await startServer({ DATABASE_URL: db.url, CORS_ORIGINS: `${ALLOWED}/, https://other.example:8443` });
  // Once the first has migrated the database; reached by its users at PUBLIC_URL, through a proxy.
  sameOriginOnly = await startServer({ DATABASE_URL: db.url, PUBLIC_URL: 'https://board.acme.example:8443' });
  ana = await registerUser(node.url, 'ana');
});

afterAll(async () => {
  closeAllSockets();
  await Promise.all([node?.close(), sameOriginOnly?.close()]);
  await db?.drop();
});

/** A socket handshake as a page of `origin` makes it (browsers send their Origin), over either transport. */
const connectFrom = (url: string, origin: string | null, transport: 'websocket' | 'polling' = 'websocket') =>
  connect(url, { token: ana.token }, { transports: [transport], extraHeaders: origin ? { origin } : {} });

const preflight = (origin: string, method: string) =>
  fetch(`${node.url}/api/v1/orgs/acme/tasks/00000000-0000-4000-8000-000000000000`, {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': 'authorization,content-type' },
  });

describe('CORS_ORIGINS', () => {
  it('keeps each origin as a browser sends it, and refuses an entry that is not an origin', () => {
    const origins = (CORS_ORIGINS: string) => loadConfig({ JWT_SECRET: TEST_JWT_SECRET, CORS_ORIGINS }).corsOrigins;
    expect(origins('https://board.example/, HTTPS://Other.Example:443')).toEqual(['https://board.example', 'https://other.example']);
    for (const bad of ['https://board.example/app', 'ftp://board.example', 'board.example', 'https://board.example?x=1'])
      expect(() => origins(bad), bad).toThrow(ConfigError);
  });

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

describe('the socket handshake', () => {
  it('lets pages of an allowed origin and of the server itself connect, and clients that send no Origin (bots)', async () => {
    for (const transport of ['websocket', 'polling'] as const) {
      expect((await connectFrom(node.url, ALLOWED, transport)).connected).toBe(true);
      expect((await connectFrom(node.url, node.url, transport)).connected).toBe(true);
      expect((await connectFrom(sameOriginOnly.url, sameOriginOnly.url, transport)).connected).toBe(true);
    }
    // Behind a proxy that rewrites Host and says the page's in X-Forwarded-Host.
    const proxied = { transports: ['websocket'], extraHeaders: { origin: 'https://tasks.example', 'x-forwarded-host': 'tasks.example' } };
    expect((await connect(sameOriginOnly.url, { token: ana.token }, proxied)).connected).toBe(true);
    // Behind one that rewrites Host and says nothing: the page's origin is PUBLIC_URL's.
    expect((await connectFrom(sameOriginOnly.url, 'https://board.acme.example:8443')).connected).toBe(true);
    expect((await connectFrom(node.url, null)).connected).toBe(true);
    expect((await connectFrom(sameOriginOnly.url, null)).connected).toBe(true);
  });

  it('refuses a page of any other origin, with a valid token', async () => {
    for (const transport of ['websocket', 'polling'] as const) {
      await expect(connectFrom(node.url, 'https://evil.example', transport)).rejects.toThrow();
      await expect(connectFrom(sameOriginOnly.url, ALLOWED, transport)).rejects.toThrow();
      await expect(connectFrom(sameOriginOnly.url, 'null', transport)).rejects.toThrow();
      await expect(connectFrom(sameOriginOnly.url, 'https://board.acme.example', transport)).rejects.toThrow(); // another port
    }
  });
});

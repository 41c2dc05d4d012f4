import { createHmac } from 'node:crypto';
import argon2 from 'argon2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { api, createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, holdLock, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer, TEST_JWT_SECRET } from './support/server.js';
import { closeAllSockets, connect, eventually, nextEvent, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  alice = await registerUser(node.url, 'alice');
  bob = await registerUser(node.url, 'bob');
});

afterEach(() => closeAllSockets());

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

const base64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** An HS256 JWT built by hand, so a test controls every claim. */
function signHs256(payload: Record<string, unknown>, secret = TEST_JWT_SECRET): string {
  const unsigned = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

function decodePayload(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
}

/** Changes the first character of the signature (the last one may only carry padding bits). */
function tamperSignature(token: string): string {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const first = signature[0] === 'A' ? 'B' : 'A';
  return `${header}.${payload}.${first}${signature.slice(1)}`;
}

async function expectHttpRefused(token: string | undefined): Promise<void> {
  const answer = await api(node.url, 'GET', '/me', undefined, token);
  expect(answer.status).toBe(401);
  expect(answer.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
}

async function expectSocketRefused(auth: Record<string, unknown>): Promise<void> {
  await expect(connect(node.url, auth)).rejects.toThrow(/^UNAUTHORIZED$/);
}

describe('bad tokens', () => {
  const cases: Array<[string, () => string | undefined]> = [
    ['missing', () => undefined],
    ['not a JWT at all', () => 'not-a-jwt'],
    ['with a changed signature', () => tamperSignature(alice.token)],
    [
      'with a changed payload (another user, same signature)',
      () => {
        const [header, payload, signature] = alice.token.split('.') as [string, string, string];
        const claims = { ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), sub: bob.user.id };
        return `${header}.${base64url(claims)}.${signature}`;
      },
    ],
    ['expired (right secret, past exp)', () => signHs256({ sub: alice.user.id, iat: now() - 7200, exp: now() - 3600 })],
    [
      'signed with another secret',
      () => signHs256({ sub: alice.user.id, iat: now(), exp: now() + 3600 }, 'another-secret-that-is-long-enough-for-hs256-xyz'),
    ],
    [
      'unsigned (alg none)',
      () => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub: alice.user.id, iat: now(), exp: now() + 3600 })}.`,
    ],
    ['for an account that does not exist', () => signHs256({ sub: '00000000-0000-4000-8000-000000000000', iat: now(), exp: now() + 3600 })],
    ['with no exp', () => signHs256({ sub: alice.user.id, iat: now() })],
    ['well signed, whose subject is not a user id', () => signHs256({ sub: "x' or '1'='1", iat: now(), exp: now() + 3600 })],
  ];

  for (const [name, token] of cases) {
    it(`refuses a token ${name} on HTTP with 401 UNAUTHORIZED`, async () => {
      await expectHttpRefused(token());
    });

    it(`refuses a token ${name} on the socket handshake with connect_error UNAUTHORIZED`, async () => {
      const value = token();
      await expectSocketRefused(value === undefined ? {} : { token: value });
    });
  }

  it('refuses a token of the wrong type in the handshake', async () => {
    await expectSocketRefused({ token: 42 });
    await expectSocketRefused({ token: { sub: alice.user.id } });
  });

  it('refuses an Authorization header that is not a Bearer token', async () => {
    const response = await fetch(`${node.url}/api/v1/me`, { headers: { authorization: `Basic ${alice.token}` } });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });
});

describe('why a credential was refused', () => {
  const expired = () => signHs256({ sub: alice.user.id, iat: now() - 7200, exp: now() - 3600 });

  it.each([
    ['no credential at all', () => ({}), 'no credential: connect with auth { token } (a user) or { apiKey } (a bot)'],
    [
      'the token with its "Bearer " as in HTTP',
      () => ({ token: `Bearer ${alice.token}` }),
      'invalid token: send the token alone, without "Bearer "',
    ],
    ['a token past its exp', () => ({ token: expired() }), 'the token has expired: sign in again'],
    ['a token and an API key', () => ({ token: alice.token, apiKey: 'tfk_whatever' }), 'send a token or an API key, not both'],
  ])("says it in the handshake's connect_error data for %s, its message still the code", async (_, auth, why) => {
    const refused = await connect(node.url, auth()).then(
      () => null,
      (error: Error & { data?: unknown }) => ({ message: error.message, data: error.data }),
    );
    expect(refused).toEqual({ message: 'UNAUTHORIZED', data: { code: 'UNAUTHORIZED', message: why } });
  });

  it('says an expired token has expired over HTTP too', async () => {
    const answer = await api(node.url, 'GET', '/me', undefined, expired());
    expect(answer.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'the token has expired: sign in again' } });
  });
});

describe('good tokens', () => {
  it('accepts a hand-signed token with the right secret (so the refusals above are not a signing mistake)', async () => {
    const token = signHs256({ sub: alice.user.id, iat: now(), exp: now() + 3600 });
    const answer = await api(node.url, 'GET', '/me', undefined, token);
    expect(answer.status).toBe(200);
    expect(answer.body.user.id).toBe(alice.user.id);
    const socket = await connect(node.url, { token });
    expect(socket.connected).toBe(true);
  });

  it('accepts a valid token on HTTP and on the socket', async () => {
    const answer = await api(node.url, 'GET', '/me', undefined, alice.token);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ user: alice.user, memberships: [] });
    const socket = await connect(node.url, { token: alice.token });
    expect(socket.connected).toBe(true);
    // The socket is authenticated as alice: an event gets a real answer, not a transport error.
    const refused = await request(socket, 'board:join', { projectId: '00000000-0000-4000-8000-000000000000' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });

  it('lives exactly TOKEN_TTL (default 1h)', async () => {
    const claims = decodePayload(alice.token);
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    const login = await api(node.url, 'POST', '/auth/login', { email: alice.email, password: 'correct horse battery' });
    const fresh = decodePayload(login.body.token);
    expect((fresh.exp as number) - (fresh.iat as number)).toBe(3600);
  });

  it('refreshes a valid token into a fresh valid one for the same user', async () => {
    const answer = await api(node.url, 'POST', '/auth/refresh', undefined, alice.token);
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body)).toEqual(['token']);
    const fresh: string = answer.body.token;
    const claims = decodePayload(fresh);
    expect(claims.sub).toBe(alice.user.id);
    expect(claims.exp).toBeGreaterThanOrEqual(decodePayload(alice.token).exp as number);
    expect(claims.exp).toBeGreaterThan(now());
    expect((await api(node.url, 'GET', '/me', undefined, fresh)).body.user.id).toBe(alice.user.id);
    expect((await connect(node.url, { token: fresh })).connected).toBe(true);
  });

  it('answers a refresh in the second its token was signed with another token, both valid', async () => {
    const { token } = (await api(node.url, 'POST', '/auth/login', { email: alice.email, password: 'correct horse battery' })).body;
    const tokens = [token];
    for (let i = 0; i < 3; i += 1) tokens.push((await api(node.url, 'POST', '/auth/refresh', undefined, tokens.at(-1))).body.token);
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const each of tokens) expect((await api(node.url, 'GET', '/me', undefined, each)).status).toBe(200);
  });

  it('does not refresh a bad token', async () => {
    const expired = signHs256({ sub: alice.user.id, iat: now() - 7200, exp: now() - 3600 });
    const answer = await api(node.url, 'POST', '/auth/refresh', undefined, expired);
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('UNAUTHORIZED');
    expect((await api(node.url, 'POST', '/auth/refresh')).status).toBe(401);
  });
});

describe('a socket whose token expires', () => {
  let shortLived: RunningServer;

  beforeAll(async () => {
    shortLived = await startServer({ DATABASE_URL: db.url, TOKEN_TTL: '2s' });
  });

  afterAll(async () => {
    closeAllSockets();
    await shortLived?.close();
  });

  it('is sent access:revoked token_expired and disconnected', async () => {
    const carol = await registerUser(shortLived.url, 'carol');
    const socket = await connect(shortLived.url, { token: carol.token });
    const disconnected = new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('not disconnected within 6000 ms')), 6000);
      socket.once('disconnect', (reason) => {
        clearTimeout(timer);
        resolve(reason);
      });
    });
    const revoked = nextEvent(socket, 'access:revoked', () => true, 6000);
    const [event, reason] = await Promise.all([revoked, disconnected]);
    expect(event).toEqual({ orgId: null, reason: 'token_expired' });
    expect(reason).toBe('io server disconnect');
    expect(socket.connected).toBe(false);

    // The same token is now refused everywhere, and a fresh login works again.
    const me = await api(shortLived.url, 'GET', '/me', undefined, carol.token);
    expect(me.status).toBe(401);
    await expect(connect(shortLived.url, { token: carol.token })).rejects.toThrow(/^UNAUTHORIZED$/);
    const login = await api(shortLived.url, 'POST', '/auth/login', { email: carol.email, password: 'correct horse battery' });
    expect(login.status).toBe(200);
    const again = await connect(shortLived.url, { token: login.body.token });
    expect(again.connected).toBe(true);
  });

  it('answers the events it has taken before it disconnects, and refuses those that come meanwhile', async () => {
    const dave = await registerUser(shortLived.url, 'dave');
    const org = await createOrg(shortLived.url, dave);
    const { project, columns } = await createProject(shortLived.url, org);
    const fresh = await api(shortLived.url, 'POST', '/auth/login', { email: dave.email, password: 'correct horse battery' });
    const socket = await connect(shortLived.url, { token: fresh.body.token });
    const order: string[] = [];
    socket.on('access:revoked', () => order.push('revoked'));
    const gone = new Promise<void>((resolve) =>
      socket.once('disconnect', () => {
        order.push('disconnected');
        resolve();
      }),
    );
    // The create waits for the board's row past the token's expiry.
    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    let created: Promise<unknown>;
    try {
      created = new Promise<unknown>((resolve) =>
        socket.emit('task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'across the expiry' }, (answer: unknown) => {
          order.push('answered'); // in the order the packets arrive, as the disconnect listener is
          resolve(answer);
        }),
      );
      await nextEvent(socket, 'access:revoked', () => true, 6000);
      const meanwhile = await request(socket, 'board:leave', { projectId: project.id });
      expect(meanwhile).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    } finally {
      await release();
    }
    expect(await created).toMatchObject({ ok: true, data: { task: { title: 'across the expiry' } } });
    await gone;
    expect(order).toEqual(['revoked', 'answered', 'disconnected']);
  });
});

describe('login and register', () => {
  async function rawPost(path: string, body: unknown): Promise<{ status: number; text: string }> {
    const response = await fetch(`${node.url}/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, text: await response.text() };
  }

  it('answers a wrong password and an unknown email alike: 401 UNAUTHORIZED, same message', async () => {
    const wrongPassword = await api(node.url, 'POST', '/auth/login', { email: alice.email, password: 'not the password' });
    const unknownEmail = await api(node.url, 'POST', '/auth/login', { email: `nobody-${alice.email}`, password: 'correct horse battery' });
    expect(wrongPassword.status).toBe(401);
    expect(unknownEmail.status).toBe(401);
    expect(wrongPassword.body).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } });
    expect(unknownEmail.body).toEqual(wrongPassword.body);
  });

  it('logs in with the right pair, whatever the case of the email', async () => {
    const answer = await api(node.url, 'POST', '/auth/login', { email: alice.email.toUpperCase(), password: 'correct horse battery' });
    expect(answer.status).toBe(200);
    expect(answer.body.user).toEqual(alice.user);
    expect(decodePayload(answer.body.token).sub).toBe(alice.user.id);
  });

  it("logs in with the email between a phone keyboard's spaces, and the password in another of Unicode's forms", async () => {
    const email = `zoe-${Date.now()}@example.test`;
    const password = 'p\u00e4sswort-\u00e9t\u00e9'; // composed accents (NFC), as most keyboards type them
    const registered = await api(node.url, 'POST', '/auth/register', { email: ` ${email} `, password, name: 'Zoë' });
    expect({ status: registered.status, email: registered.body.user?.email }).toEqual({ status: 201, email });
    for (const typed of [password, password.normalize('NFD'), 'ｐ\u00e4sswort-\u00e9t\u00e9']) {
      const answer = await api(node.url, 'POST', '/auth/login', { email: `${email} `, password: typed });
      expect({ typed, status: answer.status }).toEqual({ typed, status: 200 });
    }
    expect((await api(node.url, 'POST', '/auth/login', { email, password: 'passwort-ete' })).status).toBe(401);

    // A password set before passwords were normalized was hashed as typed, decomposed here: it
    // still works, and is hashed anew, so that from then on it works typed either way.
    const decomposed = password.normalize('NFD');
    const legacy = await argon2.hash(decomposed, { type: argon2.argon2id });
    await db.query('update users set password_hash = $1 where email = $2', [legacy, email]);
    expect((await api(node.url, 'POST', '/auth/login', { email, password })).status).toBe(401);
    expect((await api(node.url, 'POST', '/auth/login', { email, password: decomposed })).status).toBe(200);
    // Hashed anew after the answer.
    await eventually(async () =>
      expect((await db.query('select password_hash from users where email = $1', [email]))[0].password_hash).not.toBe(legacy),
    );
    expect((await api(node.url, 'POST', '/auth/login', { email, password })).status).toBe(200);
  });

  it('refuses a taken email in any case with 409 CONFLICT', async () => {
    for (const email of [alice.email, alice.email.toUpperCase(), alice.email.replace(/^./, (c) => c.toUpperCase())]) {
      const answer = await api(node.url, 'POST', '/auth/register', { email, password: 'another long password', name: 'Impostor' });
      expect(answer.status).toBe(409);
      expect(answer.body.error.code).toBe('CONFLICT');
    }
    const rows = await db.query('select count(*)::int as n from users where lower(email) = lower($1)', [alice.email]);
    expect(rows).toEqual([{ n: 1 }]);
  });

  it('never answers a password hash', async () => {
    const email = `dave-${Date.now()}@example.test`;
    const registered = await rawPost('/auth/register', { email, password: 'correct horse battery', name: 'dave' });
    expect(registered.status).toBe(201);
    const loggedIn = await rawPost('/auth/login', { email, password: 'correct horse battery' });
    expect(loggedIn.status).toBe(200);
    const token = JSON.parse(loggedIn.text).token as string;
    const me = await fetch(`${node.url}/api/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    const meText = await me.text();
    for (const text of [registered.text, loggedIn.text, meText]) {
      expect(text).not.toContain('$argon2');
      expect(text.toLowerCase()).not.toContain('password');
    }
    expect(Object.keys(JSON.parse(registered.text).user).sort()).toEqual(['avatarUrl', 'email', 'id', 'name']);
    // The hash is there in the database, only never on the wire.
    const [row] = await db.query<{ password_hash: string }>('select password_hash from users where email = $1', [email]);
    expect(row!.password_hash).toMatch(/^\$argon2/);
  });
});

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import net from 'node:net';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { io } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../server/config.js';
import { api, createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer, TEST_JWT_SECRET } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok } from './support/sockets.js';

// The HTTP layer under the routes: who the client is behind a proxy (TRUST_PROXY), what the HTTP
// parser's own refusals answer, and how long a request may take to arrive.
let db: TestDatabase;
let node: RunningServer; // no TRUST_PROXY: forwarded headers are nobody's word
let proxied: RunningServer; // behind a proxy on 127.0.0.1 (TRUST_PROXY=127.0.0.1)
let alice: TestUser;

beforeAll(async () => {
  db = await createTestDatabase();
  // No REDIS_URL: each node counts failed logins in memory, so every count here starts at zero.
  node = await startServer({ DATABASE_URL: db.url });
  // Its test sends 50 failed logins at once; on a busy two-core machine their password checks can
  // outlast the answer deadline (a 503), which is not what it judges.
  proxied = await startServer({ DATABASE_URL: db.url, TRUST_PROXY: '127.0.0.1', ANSWER_DEADLINE: '120' });
  alice = await registerUser(node.url, 'alice');
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await proxied?.close();
  await db?.drop();
});

/** A JSON POST to `/api/v1` with extra headers (`X-Forwarded-For`, as a proxy adds it). */
async function post(base: string, path: string, body: unknown, headers: Record<string, string>, token?: string) {
  const response = await fetch(`${base}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

describe('PUBLIC_URL by default', () => {
  it('is where HOST and PORT listen, an IPv6 address in brackets', () => {
    const publicUrl = (HOST: string) => loadConfig({ JWT_SECRET: TEST_JWT_SECRET, HOST, PORT: '3000' }).publicUrl;
    expect(publicUrl('127.0.0.1')).toBe('http://127.0.0.1:3000');
    expect(publicUrl('::')).toBe('http://[::]:3000');
    expect(publicUrl('::1')).toBe('http://[::1]:3000');
    expect(publicUrl('board.internal')).toBe('http://board.internal:3000');
  });
});

describe("the embedded mode's secret file (DATA_DIR/jwt-secret)", () => {
  const secretOf = (DATA_DIR: string) => loadConfig({ DATA_DIR }).jwtSecret;

  it('is made once, whole, with nothing left beside it, and read back at the next start', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'taskflow-secret-'));
    try {
      const secret = secretOf(dir);
      expect(secret.length).toBeGreaterThanOrEqual(32);
      expect(readdirSync(dir)).toEqual(['jwt-secret']);
      expect(secretOf(dir)).toBe(secret);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops the start with one line naming the file where it is empty (a write a full disk cut short) or cannot be reached', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'taskflow-secret-'));
    try {
      writeFileSync(path.join(dir, 'jwt-secret'), '');
      expect(() => secretOf(dir)).toThrow(
        new ConfigError(
          `${path.join(dir, 'jwt-secret')} (DATA_DIR) holds no secret of 32 characters or more: delete it, and a new one is made`,
        ),
      );
      const notAFolder = path.join(dir, 'jwt-secret', 'data'); // under a file: ENOTDIR, as a read-only mount gives EROFS
      expect(() => secretOf(notAFolder)).toThrow(ConfigError);
      expect(() => secretOf(notAFolder)).toThrow(/^cannot read .*jwt-secret \(DATA_DIR\): ENOTDIR$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('numbers in the environment', () => {
  const parse = (env: Record<string, string>) => loadConfig({ JWT_SECRET: TEST_JWT_SECRET, ...env });

  it('takes whole numbers written in digits', () => {
    const env = {
      PORT: '8080',
      SOCKET_RATE_LIMIT: '0',
      SOCKET_READ_LIMIT: '64',
      SOCKET_BACKLOG_LIMIT: '4',
      NODE_BACKLOG_LIMIT: '64',
      BOARD_EVENT_RETENTION: '500',
    };
    expect(parse(env)).toMatchObject({
      port: 8080,
      socketRateLimit: 0,
      socketReadLimit: 64,
      socketBacklogLimit: 4,
      nodeBacklogLimit: 64,
      eventRetention: 500,
    });
  });

  it.each([
    ['PORT', 'abc', 'a whole number from 0 to 65535'],
    ['PORT', '80.5', 'a whole number from 0 to 65535'],
    ['PORT', '1e3', 'a whole number from 0 to 65535'],
    ['PORT', ' 80', 'a whole number from 0 to 65535'],
    ['PORT', '70000', 'at most 65535'],
    ['SOCKET_RATE_LIMIT', '-1', 'a whole number from 0 to 2147483647'],
    ['SOCKET_RATE_LIMIT', '99999999999999999999', 'at most 2147483647'],
    ['SOCKET_READ_LIMIT', '63', '0 (off), or at least 64'],
    ['SOCKET_BACKLOG_LIMIT', '0', 'at least 1'],
    ['NODE_BACKLOG_LIMIT', '0', 'at least 1'],
    ['BOARD_EVENT_RETENTION', 'lots', 'a whole number from 10 to 2147483647'],
  ])('stops start-up on %s=%j, saying what it takes', (name, value, says) => {
    expect(() => parse({ [name]: value })).toThrow(new ConfigError(`invalid configuration: ${name}: ${says}`));
  });
});

describe('durations in the environment', () => {
  const parse = (env: Record<string, string>) => loadConfig({ JWT_SECRET: TEST_JWT_SECRET, ...env });

  it('takes up to ten years where a date is reckoned, and up to 24 days where the node waits with a timer', () => {
    expect(parse({ TOKEN_TTL: '3650d', INVITE_TTL: '3650d', ANSWER_DEADLINE: '24d', PRESENCE_REFRESH: '24d' })).toMatchObject({
      tokenTtl: 3650 * 86400,
      inviteTtl: 3650 * 86400,
      answerDeadline: 24 * 86400,
      presenceRefresh: 24 * 86400,
    });
  });

  // Node fires a timer longer than 2^31 - 1 ms (24.8 days) at once: a deadline of 30d answered every
  // request 503 at once, and a presence refresh of 30d ran every millisecond (the operator review).
  it.each([
    ['ANSWER_DEADLINE', '25d', 'at most 24d'],
    ['PRESENCE_REFRESH', '3651d', 'at most 24d'],
    ['TOKEN_TTL', '3651d', 'at most 3650d'],
    ['ANSWER_DEADLINE', '0', 'at least 1 second'],
  ])('stops start-up on %s=%j, saying what it takes', (name, value, says) => {
    expect(() => parse({ [name]: value })).toThrow(new ConfigError(`invalid configuration: ${name}: ${says}`));
  });
});

describe('TRUST_PROXY', () => {
  const parse = (value: string | undefined) => loadConfig({ JWT_SECRET: TEST_JWT_SECRET, TRUST_PROXY: value }).trustProxy;

  it('trusts no forwarded header unless set, and takes true or a list of addresses and CIDR ranges', () => {
    expect(parse(undefined)).toBe(false);
    expect(parse('')).toBe(false);
    expect(parse('false')).toBe(false);
    expect(parse('true')).toBe(true);
    expect(parse('10.0.0.1, 192.168.0.0/16,loopback, fd00::/8,::1')).toEqual(['10.0.0.1', '192.168.0.0/16', 'loopback', 'fd00::/8', '::1']);
  });

  it.each([
    ['a hop count', '1'],
    ['a host name', 'proxy.internal'],
    ['a prefix past the address length', '10.0.0.0/33'],
    ['an empty range', '10.0.0.0/0'],
    ['half an address', '10.0.0'],
  ])('stops start-up on %s, with one line naming TRUST_PROXY', (_, value) => {
    expect(() => parse(value)).toThrow(ConfigError);
    expect(() => parse(value)).toThrow(/^invalid configuration: TRUST_PROXY: [^\n]+$/);
  });

  it('gives the audit log the forwarded client only from a trusted proxy', async () => {
    const forwarded = { 'x-forwarded-for': '203.0.113.5' };
    const viaProxy = await post(
      proxied.url,
      '/orgs',
      { name: 'Proxied', slug: `proxied-${randomUUID().slice(0, 8)}` },
      forwarded,
      alice.token,
    );
    const direct = await post(node.url, '/orgs', { name: 'Direct', slug: `direct-${randomUUID().slice(0, 8)}` }, forwarded, alice.token);
    expect([viaProxy.status, direct.status]).toEqual([201, 201]);

    const ipOf = async (slug: string) => {
      const log = await api(node.url, 'GET', `/orgs/${slug}/audit-log`, undefined, alice.token);
      return log.body.entries.find((entry: { action: string }) => entry.action === 'org.created')?.ip;
    };
    expect(await ipOf(viaProxy.body.org.slug)).toBe('203.0.113.5');
    expect(await ipOf(direct.body.org.slug)).toBe('127.0.0.1');
  });

  it('takes the peer for the client where the forwarded value is no address (what a client wrote, of any length)', async () => {
    const made = await post(
      proxied.url,
      '/orgs',
      { name: 'Forged', slug: `forged-${randomUUID().slice(0, 8)}` },
      { 'x-forwarded-for': `not-an-address-${'x'.repeat(200)}` },
      alice.token,
    );
    expect(made.status).toBe(201);
    const log = await api(proxied.url, 'GET', `/orgs/${made.body.org.slug}/audit-log`, undefined, alice.token);
    expect(log.body.entries.find((entry: { action: string }) => entry.action === 'org.created')?.ip).toBe('127.0.0.1');
  });

  it('throttles failed logins per forwarded client behind a trusted proxy, not for everyone behind it', async () => {
    const victim = await registerUser(proxied.url, 'victim');
    const attacker = { 'x-forwarded-for': '203.0.113.7' };
    const guess = (headers: Record<string, string>) =>
      post(proxied.url, '/auth/login', { email: `ghost-${randomUUID()}@example.test`, password: 'guess' }, headers);

    const guesses = await Promise.all(Array.from({ length: 50 }, () => guess(attacker)));
    expect(guesses.map((answer) => answer.status)).toEqual(Array(50).fill(401));
    expect((await guess(attacker)).status).toBe(429);
    // The proxy appends the address it saw to what the client sent: a forged entry before it changes nothing.
    expect((await guess({ 'x-forwarded-for': '198.51.100.99, 203.0.113.7' })).status).toBe(429);

    const login = await post(
      proxied.url,
      '/auth/login',
      { email: victim.email, password: 'correct horse battery' },
      { 'x-forwarded-for': '198.51.100.7' },
    );
    expect(login.status).toBe(200);
  }, 120_000);

  it("keeps an account's owner signing in while another address guesses its password, and bounds guesses spread over many", async () => {
    const owner = await registerUser(proxied.url, 'guessed');
    const signIn = (password: string, address: string) =>
      post(proxied.url, '/auth/login', { email: owner.email, password }, { 'x-forwarded-for': address });
    const guessFrom = async (address: string, guesses: number) => {
      const answers: number[] = [];
      for (let i = 0; i < guesses; i++) answers.push((await signIn(`guess ${i}`, address)).status);
      return answers;
    };

    // One address: ten wrong guesses, then it is refused whatever it sends, the right password too.
    expect(await guessFrom('203.0.113.20', 10)).toEqual(Array(10).fill(401));
    expect((await signIn('correct horse battery', '203.0.113.20')).status).toBe(429);
    // The owner, elsewhere, is not kept out.
    expect((await signIn('correct horse battery', '198.51.100.20')).status).toBe(200);

    // Ten addresses of ten guesses each use up the account's hundred: then every address is refused.
    const spread = await Promise.all(Array.from({ length: 10 }, (_, i) => guessFrom(`203.0.113.${100 + i}`, 10)));
    expect(spread.flat()).toEqual(Array(100).fill(401));
    expect((await signIn('correct horse battery', '198.51.100.21')).status).toBe(429);
  }, 180_000);

  it('counts an IPv6 client by its /64 network, which one host may hold whole, not by each address in it', async () => {
    const owner = await registerUser(proxied.url, 'guessed-v6');
    const signIn = (password: string, address: string) =>
      post(proxied.url, '/auth/login', { email: owner.email, password }, { 'x-forwarded-for': address });
    const guesses: number[] = [];
    for (let i = 1; i <= 10; i++) guesses.push((await signIn(`guess ${i}`, `2001:db8:1:2::${i.toString(16)}`)).status);
    expect(guesses).toEqual(Array(10).fill(401));
    // Another address of the same network is the same guesser; the owner on another network is not.
    expect((await signIn('correct horse battery', '2001:db8:1:2:ffff:ffff:ffff:ffff')).status).toBe(429);
    expect((await signIn('correct horse battery', '2001:db8:1:3::1')).status).toBe(200);
  }, 120_000);
});

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/**
 * Writes `raw` on a connection of its own and reads until the server closes it; rejects when the
 * server keeps it open past `ms` (`drip`, if given, is written every 100 ms meanwhile). Answers
 * what came back and how long after connecting the server closed.
 */
function exchange(url: string, raw: string, { ms = 5000, drip }: { ms?: number; drip?: string } = {}) {
  return new Promise<{ text: string; elapsedMs: number }>((resolve, reject) => {
    const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
    let text = '';
    let started = Date.now();
    const dripping = drip === undefined ? undefined : setInterval(() => socket.write(drip), 100);
    const giveUp = setTimeout(() => {
      clearInterval(dripping);
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${ms} ms; it sent: ${JSON.stringify(text.slice(0, 200))}`));
    }, ms);
    socket.on('connect', () => {
      started = Date.now();
      socket.write(raw);
    });
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', () => {}); // a drip written after the server closed: EPIPE
    socket.on('close', () => {
      clearInterval(dripping);
      clearTimeout(giveUp);
      resolve({ text, elapsedMs: Date.now() - started });
    });
  });
}

function parseAnswer(text: string): RawAnswer {
  const split = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, split).split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]),
  );
  const body = text.slice(split + 4);
  expect(Number(headers['content-length'])).toBe(Buffer.byteLength(body, 'latin1'));
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(body) };
}

describe("the HTTP parser's refusals", () => {
  const big = 'a'.repeat(20_000);

  it.each([
    [
      'Content-Length with Transfer-Encoding',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    [
      'two different Content-Lengths',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
    ],
    [
      'the same Content-Length twice',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}',
    ],
    [
      'a Content-Length that is not a number',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}',
    ],
    ['a header line without a colon', 'GET /api/v1/me HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'],
    ['an unknown method', 'FOO /api/v1/me HTTP/1.1\r\nHost: x\r\n\r\n'],
    [
      'a broken chunk size',
      'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
    ],
  ])('answers %s with 400 VALIDATION_FAILED in the contract shape, and closes the connection', async (_, raw) => {
    const answer = parseAnswer((await exchange(node.url, raw)).text);
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers.connection).toBe('close');
    // Written by hand, not by fastify: the security headers all the same.
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(answer.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect((await api(node.url, 'GET', '/me', undefined, alice.token)).status).toBe(200);
  });

  it.each([
    ['a header over 16 KB', `GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`],
    ['a URL over 16 KB', `GET /api/v1/orgs/${big} HTTP/1.1\r\nHost: x\r\n\r\n`],
  ])('answers %s with 431 PAYLOAD_TOO_LARGE in the contract shape, and closes the connection', async (_, raw) => {
    const answer = parseAnswer((await exchange(node.url, raw)).text);
    expect(answer.status).toBe(431);
    expect(answer.body).toEqual({ error: { code: 'PAYLOAD_TOO_LARGE', message: expect.any(String) } });
    expect(answer.headers['content-type']).toMatch(/^application\/json/);
    expect(answer.headers['x-content-type-options']).toBe('nosniff');
    expect(answer.headers.connection).toBe('close');
    expect((await api(node.url, 'GET', '/me', undefined, alice.token)).status).toBe(200);
  });
});

describe('slow clients', () => {
  const TIMEOUT_MS = 1000;
  let slow: RunningServer;
  let user: TestUser;
  let projectId: string;

  beforeAll(async () => {
    slow = await startServer({ DATABASE_URL: db.url }, { requestTimeoutMs: TIMEOUT_MS });
    user = await registerUser(slow.url, 'patient');
    ({
      project: { id: projectId },
    } = await createProject(slow.url, await createOrg(slow.url, user)));
  });

  afterAll(async () => {
    await slow?.close();
  });

  /** A socket.io client on long-polling only: its GET is held open while the server has nothing to send. */
  function connectPolling(): Promise<ClientSocket> {
    const socket: ClientSocket = io(slow.url, {
      auth: { token: user.token },
      transports: ['polling'],
      reconnection: false,
      forceNew: true,
    });
    return new Promise((resolve, reject) => {
      socket.once('connect', () => resolve(socket));
      socket.once('connect_error', reject);
    });
  }

  const login = 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n';

  it.each([
    ['a body', `${login}{"email":"`],
    ['headers', 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nX-Slow: '],
  ])(
    'cuts off %s sent a byte at a time once the request timeout passes, serving everyone else meanwhile',
    async (_, start) => {
      const polling = await connectPolling();
      const websocket = await connect(slow.url, { token: user.token });
      const dropped: string[] = [];
      polling.on('disconnect', (reason) => dropped.push(`polling: ${reason}`));
      websocket.on('disconnect', (reason) => dropped.push(`websocket: ${reason}`));
      let pollsAnswered = 0;
      polling.io.engine.transport.on('pollComplete', () => pollsAnswered++);

      try {
        const trickle = exchange(slow.url, start, { ms: TIMEOUT_MS + 5000, drip: 'a' });
        const meanwhile = await api(slow.url, 'GET', '/me', undefined, user.token);
        expect(meanwhile.status).toBe(200);

        const { text, elapsedMs } = await trickle;
        expect(elapsedMs).toBeGreaterThanOrEqual(TIMEOUT_MS);
        expect(elapsedMs).toBeLessThan(TIMEOUT_MS + 1500);
        const answer = parseAnswer(text);
        expect(answer.status).toBe(408);
        expect(answer.body).toEqual({ error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });

        // The long-poll GET open since before the trickle began was held past the timeout, and still works.
        expect(pollsAnswered).toBe(0);
        expect(polling.io.engine.transport.name).toBe('polling');
        expect(await ok(polling, 'board:leave', { projectId })).toEqual({});
        expect(await ok(websocket, 'board:leave', { projectId })).toEqual({});
        expect(dropped).toEqual([]);
      } finally {
        polling.close();
      }
    },
    20_000,
  );
});

describe('the listeners an answer carries', () => {
  it('do not pile up past what Node warns of: the page, its files and an API read are served without a warning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const page = await fetch(`${node.url}/`, { headers: { accept: 'text/html' } });
      const files = [...(await page.text()).matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((match) => match[1]!);
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const served = await fetch(`${node.url}${file}`);
        expect(served.status).toBe(200);
        await served.arrayBuffer();
      }
      const boardPage = await fetch(`${node.url}/orgs/acme/projects/${randomUUID()}?card=${randomUUID()}`, {
        headers: { accept: 'text/html' },
      });
      expect(boardPage.status).toBe(200); // the app's page, for a board's address
      expect((await api(node.url, 'GET', '/me', undefined, alice.token)).status).toBe(200);
      await new Promise((resolve) => setImmediate(resolve)); // a warning is emitted on the next tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.filter((name) => name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});

describe('an answer its client stops reading', () => {
  // A board of 400 cards with 60 KB descriptions: a 24 MB answer, more than the kernel's buffers on
  // both ends hold, so the rest waits in the server's memory for as long as the connection is open.
  // Three seconds, not the production 30: long enough that a CI worker busy for a second (the
  // reading client and this server share its event loop) is not taken for a client that stopped.
  const STALL_MS = 3000;
  const CARDS = 400;
  let stalling: RunningServer;
  let user: TestUser;
  let path: string;
  let projectId: string;

  /**
   * A long-polling session of `user` on `url` that joins the board and asks for the poll carrying
   * the answer (the 24 MB snapshot) on a connection that never reads: the client's side, and the
   * server's, once it has begun writing.
   */
  async function unreadPoll(url: string, serverSides: Map<number, net.Socket>): Promise<{ client: net.Socket; serverSide: net.Socket }> {
    const engine = `${url}/socket.io/?EIO=4&transport=polling`;
    const session = `${engine}&sid=${JSON.parse((await (await fetch(engine)).text()).slice(1)).sid}`;
    const post = (body: string) => fetch(session, { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
    expect((await post(`40${JSON.stringify({ token: user.token })}`)).status).toBe(200);
    expect(await (await fetch(session)).text()).toMatch(/^40\{"sid":/);
    expect((await post(`421${JSON.stringify(['board:join', { projectId }])}`)).status).toBe(200);
    const client = net.connect(Number(new URL(url).port), '127.0.0.1');
    client.on('error', () => {}); // reset by the server, as it should be
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    client.write(`GET ${new URL(session).pathname}${new URL(session).search} HTTP/1.1\r\nHost: x\r\n\r\n`);
    client.pause(); // and never reads
    await eventually(() => expect(serverSides.get(client.localPort!)?.bytesWritten ?? 0).toBeGreaterThan(0));
    return { client, serverSide: serverSides.get(client.localPort!)! };
  }

  beforeAll(async () => {
    stalling = await startServer({ DATABASE_URL: db.url, SOCKET_RATE_LIMIT: '0' }, { stalledAnswerMs: STALL_MS });
    user = await registerUser(stalling.url, 'hoarder');
    const org = await createOrg(stalling.url, user);
    const { project, columns } = await createProject(stalling.url, org);
    const socket = await connect(stalling.url, { token: user.token });
    const description = '漢'.repeat(20_000);
    for (let i = 0; i < CARDS; i += 40)
      await Promise.all(
        Array.from({ length: 40 }, (_, j) =>
          ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: `card ${i + j}`, description }),
        ),
      );
    socket.close();
    path = `/api/v1/orgs/${org.slug}/projects/${project.id}`;
    projectId = project.id;
  }, 60_000);

  afterAll(async () => {
    await stalling?.close();
  });

  it('closes the connection once its client has taken none of it for a while, and serves one that reads it whole', async () => {
    const serverSides = new Map<number, net.Socket>();
    const track = (socket: net.Socket) => serverSides.set(socket.remotePort!, socket);
    stalling.server.app.server.on('connection', track);
    try {
      const { port } = new URL(stalling.url);
      const client = net.connect(Number(port), '127.0.0.1');
      client.on('error', () => {}); // reset by the server, as it should be
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      client.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.token}\r\n\r\n`);
      client.pause(); // and never reads
      await eventually(() => expect(serverSides.has(client.localPort!)).toBe(true));
      const serverSide = serverSides.get(client.localPort!)!;
      await new Promise<void>((resolve) => serverSide.once('close', () => resolve()));
      client.destroy();
    } finally {
      stalling.server.app.server.off('connection', track);
    }
    const whole = await api(stalling.url, 'GET', path.replace('/api/v1', ''), undefined, user.token);
    expect({ status: whole.status, cards: whole.body.tasks.length }).toEqual({ status: 200, cards: CARDS });
  }, 30_000);

  it("closes a long-polling poll's connection whose client takes none of its answer, as any other answer's", async () => {
    const serverSides = new Map<number, net.Socket>();
    const track = (socket: net.Socket) => serverSides.set(socket.remotePort!, socket);
    stalling.server.app.server.on('connection', track);
    try {
      const { client, serverSide } = await unreadPoll(stalling.url, serverSides);
      await new Promise<void>((resolve) => serverSide.once('close', () => resolve()));
      client.destroy();
    } finally {
      stalling.server.app.server.off('connection', track);
    }
  }, 30_000);

  it('takes up a request sent behind it on the same connection only once it has left, so a connection holds one answer', async () => {
    const serverSides = new Map<number, net.Socket>();
    const track = (socket: net.Socket) => serverSides.set(socket.remotePort!, socket);
    stalling.server.app.server.on('connection', track);
    const get = `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.token}\r\n\r\n`;
    let release: (() => Promise<void>) | undefined;
    try {
      const { port } = new URL(stalling.url);
      const client = net.connect(Number(port), '127.0.0.1');
      client.on('error', () => {});
      await new Promise<void>((resolve) => client.once('connect', () => resolve()));
      client.write(get);
      client.pause(); // and never reads
      await eventually(() => expect(serverSides.get(client.localPort!)?.bytesWritten ?? 0).toBeGreaterThan(0));
      const serverSide = serverSides.get(client.localPort!)!;
      // Its answer on its way, the board's cards locked: a read of the board for a request taken
      // up now would wait on the lock, where the test can see it.
      release = await holdLock(db, 'lock table tasks in access exclusive mode');
      client.write(get.repeat(5));
      await new Promise<void>((resolve) => serverSide.once('close', () => resolve()));
      expect(await lockWaiters(db)).toBe(0);
      client.destroy();
    } finally {
      await release?.();
      stalling.server.app.server.off('connection', track);
    }
  }, 30_000);

  it('answers a client that reads them every request it sent in one go, in order', async () => {
    const { port } = new URL(stalling.url);
    const client = net.connect(Number(port), '127.0.0.1');
    const asks = ['/api/v1/me', '/healthz', '/api/v1/me'].map(
      (route) => `GET ${route} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.token}\r\n\r\n`,
    );
    let text = '';
    client.setEncoding('utf8');
    await new Promise<void>((resolve, reject) => {
      client.on('error', reject);
      client.on('data', (chunk: string) => {
        text += chunk;
        if ((text.match(/HTTP\/1\.1 /g) ?? []).length === 3 && text.endsWith('}')) resolve();
      });
      client.write(asks.join(''));
    });
    client.destroy();
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    expect(answers.map((answer) => answer.slice(0, 12))).toEqual(['HTTP/1.1 200', 'HTTP/1.1 200', 'HTTP/1.1 200']);
    expect(answers.map((answer) => answer.includes('"status":"ok"'))).toEqual([false, true, false]);
  });

  it('drops such connections, those holding the most first, once the node holds more than NODE_BACKLOG_LIMIT, long before they stall', async () => {
    // A node that would keep each for 30 s, and holds at most 16 MiB for its clients.
    const shedding = await startServer({ DATABASE_URL: db.url, NODE_BACKLOG_LIMIT: '16' });
    const serverSides: net.Socket[] = [];
    const track = (socket: net.Socket) => serverSides.push(socket);
    shedding.server.app.server.on('connection', track);
    try {
      const { port } = new URL(shedding.url);
      const clients = await Promise.all(
        Array.from({ length: 3 }, async () => {
          const client = net.connect(Number(port), '127.0.0.1');
          client.on('error', () => {}); // reset by the server, as it should be
          await new Promise<void>((resolve) => client.once('connect', () => resolve()));
          client.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user.token}\r\n\r\n`);
          client.pause(); // and never reads
          return client;
        }),
      );
      await eventually(() => expect(serverSides.filter((side) => side.destroyed)).not.toHaveLength(0));
      // What the node still holds for them is within the limit.
      await eventually(() =>
        expect(serverSides.reduce((sum, side) => sum + (side.destroyed ? 0 : side.writableLength), 0)).toBeLessThanOrEqual(16 * 2 ** 20),
      );
      for (const client of clients) client.destroy();
      const whole = await api(shedding.url, 'GET', path.replace('/api/v1', ''), undefined, user.token);
      expect({ status: whole.status, cards: whole.body.tasks.length }).toEqual({ status: 200, cards: CARDS });
    } finally {
      shedding.server.app.server.off('connection', track);
      await shedding.close();
    }
  }, 30_000);

  it("counts long-polling answers too: a node over NODE_BACKLOG_LIMIT drops a poll's connection its client does not read", async () => {
    const shedding = await startServer({ DATABASE_URL: db.url, NODE_BACKLOG_LIMIT: '4' });
    const serverSides = new Map<number, net.Socket>();
    const track = (socket: net.Socket) => serverSides.set(socket.remotePort!, socket);
    shedding.server.app.server.on('connection', track);
    try {
      const { client, serverSide } = await unreadPoll(shedding.url, serverSides);
      // More of the 24 MB answer waits in the node than it may hold for all: dropped within a sweep or two, where the stall takes 30 s.
      await eventually(() => expect(serverSide.destroyed).toBe(true), 10_000);
      client.destroy();
    } finally {
      shedding.server.app.server.off('connection', track);
      await shedding.close();
    }
  }, 30_000);
});

describe('an answer whose client left before it was ready', () => {
  it('is forgotten, its connection with it, however long the server runs', async () => {
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    let collected = false;
    const registry = new FinalizationRegistry(() => (collected = true));
    const held = (socket: net.Socket) => registry.register(socket, 'the server side');
    node.server.app.server.once('connection', held);
    // The answer waits on the database while its client goes away.
    const release = await holdLock(db, 'lock table memberships in access exclusive mode');
    try {
      const { port } = new URL(node.url);
      const client = net.connect(Number(port), '127.0.0.1');
      client.on('error', () => {});
      client.write(`GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${alice.token}\r\n\r\n`);
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      client.destroy();
      await eventually(() => expect(node.server.ctx.inFlight.size).toBe(0)); // counted out as its connection closed
    } finally {
      await release();
    }
    // Once the read is done and sent nowhere, nothing holds the connection: a timer kept it for good.
    await eventually(() => {
      gc();
      expect(collected).toBe(true);
    }, 15_000);
  });
});

describe('a request whose body is still arriving at the answer deadline', () => {
  let hurried: RunningServer;

  beforeAll(async () => {
    hurried = await startServer({ DATABASE_URL: db.url, ANSWER_DEADLINE: '1' }, { requestTimeoutMs: 5000 });
  });

  afterAll(async () => {
    await hurried?.close();
  });

  it('is answered 503 once, and its connection closed, so that nothing after it is read as its body', async () => {
    const start = 'POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"email":"';
    const { text, elapsedMs } = await exchange(hurried.url, start, { ms: 4000, drip: 'a' });
    expect(elapsedMs).toBeLessThan(3000);
    const answer = parseAnswer(text); // the whole of what came: one answer, not a 408 after it
    expect(answer.status).toBe(503);
    // It waited on its client, not on the database, and says so.
    expect(answer.body).toEqual({ error: { code: 'UNAVAILABLE', message: 'the request body did not arrive in time; send it again' } });
  });
});

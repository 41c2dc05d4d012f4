import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { HANDSHAKES_PER_CONNECTION } from '../server/realtime/socket-server.js';
import { registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { connect } from './support/sockets.js';

// socket.io starts a handshake for every CONNECT packet of a connection that has no socket yet.
// Spoken on the wire, without any client library, one WebSocket could ask for thousands at once,
// each a database read, with no account at all (the wire review: 20,000 of them held every
// tenant's events for 10 s). A connection gets one handshake at a time, and a few in all.
let db: TestDatabase;
let node: RunningServer;
let alice: TestUser;
const opened: WebSocket[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  alice = await registerUser(node.url, 'alice');
});

afterEach(() => {
  for (const ws of opened.splice(0)) ws.terminate();
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

/** An engine.io WebSocket spoken by hand: the socket.io packets it is sent, and when it closes. */
async function rawConnection(): Promise<{ ws: WebSocket; packets: string[]; closed: Promise<void>; next(): Promise<string> }> {
  const ws = new WebSocket(`${node.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  opened.push(ws);
  const packets: string[] = [];
  const waiting: Array<(packet: string) => void> = [];
  ws.on('message', (data) => {
    const packet = data.toString();
    if (packet === '2') return void ws.send('3'); // engine.io's ping
    if (!packet.startsWith('4')) return; // engine.io's open
    const waiter = waiting.shift();
    if (waiter) waiter(packet);
    else packets.push(packet);
  });
  const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const next = () => {
    const packet = packets.shift();
    return packet !== undefined ? Promise.resolve(packet) : new Promise<string>((resolve) => waiting.push(resolve));
  };
  return { ws, packets, closed, next };
}

const connectPacket = (auth: object) => `40${JSON.stringify(auth)}`;
/** A `connect_error` packet's code (its `message`), or null for a packet of another kind. */
const refusalCode = (packet: string): string | null => (packet.startsWith('44') ? JSON.parse(packet.slice(2)).message : null);
const UNKNOWN_KEY = { apiKey: `tfk_AAAAAAAAAAAA_${'x'.repeat(43)}` };
const socketsOf = (user: TestUser) =>
  [...node.server.io.of('/').sockets.values()].filter((s) => s.data.principal?.kind === 'user' && s.data.principal.userId === user.user.id);

describe('socket handshakes on one connection', () => {
  it('closes a connection that floods CONNECT packets, having begun no more than one handshake', async () => {
    const { ws, packets, closed } = await rawConnection();
    for (let i = 0; i < 200; i++) ws.send(connectPacket(UNKNOWN_KEY));
    await closed;
    // Before: 200 answers UNAUTHORIZED, each after a read of api_keys, and the connection open for more.
    expect(packets.filter((packet) => packet.includes('UNAUTHORIZED')).length).toBeLessThanOrEqual(1);
    const codes = packets.map(refusalCode);
    expect(codes.every((code) => code === 'UNAUTHORIZED' || code === 'RATE_LIMITED')).toBe(true);
    expect(codes).toContain('RATE_LIMITED'); // the second, refused while the first was under way
  });

  it('gives a connection that sends CONNECT again before it is answered no socket at all', async () => {
    let made = 0;
    const countAlice = (socket: { data: { principal?: { kind: string; userId?: string } } }) => {
      if (socket.data.principal?.userId === alice.user.id) made += 1;
    };
    node.server.io.on('connection', countAlice);
    try {
      const { ws, closed } = await rawConnection();
      for (let i = 0; i < 50; i++) ws.send(connectPacket({ token: alice.token }));
      await closed;
      // A barrier: a handshake begun after the connection closed, which the server has accepted
      // once the client hears it was. A socket made for the closed connection would count too.
      const barrier = await connect(node.url, { token: alice.token });
      barrier.disconnect();
      // Before: 50 authenticated sockets on one connection, in the user's and the org's rooms.
      expect(made).toBe(1);
    } finally {
      node.server.io.off('connection', countAlice);
    }
  });

  it(`lets a refused handshake be tried again on its connection, ${HANDSHAKES_PER_CONNECTION} times in all`, async () => {
    const retried = await rawConnection();
    retried.ws.send(connectPacket({ token: 'not a token' }));
    expect(await retried.next()).toMatch(/^44\{"message":"UNAUTHORIZED"/);
    retried.ws.send(connectPacket({ token: alice.token }));
    expect(await retried.next()).toMatch(/^40\{"sid":/);
    expect(socketsOf(alice)).toHaveLength(1);

    const stubborn = await rawConnection();
    for (let i = 0; i < HANDSHAKES_PER_CONNECTION; i++) {
      stubborn.ws.send(connectPacket(UNKNOWN_KEY));
      expect(await stubborn.next()).toMatch(/^44\{"message":"UNAUTHORIZED"/);
    }
    stubborn.ws.send(connectPacket({ token: alice.token }));
    expect(await stubborn.next()).toMatch(/^44\{"message":"RATE_LIMITED"/);
    await stubborn.closed;
    expect(socketsOf(alice)).toHaveLength(1); // the first connection's
  });
});

describe('handshakes whose auth cannot be read', () => {
  it.each([
    ['a string', '"a bare token"'],
    ['an array', '["a token"]'],
    ['true', 'true'],
    ['null', 'null'],
  ])('answers an auth that is %s UNAUTHORIZED, and lets the connection try again', async (_, auth) => {
    const { ws, next } = await rawConnection();
    ws.send(`40${auth}`);
    // Before: no answer, the connection closed, and socket.io-client trying the same again and again.
    expect(refusalCode(await next())).toBe('UNAUTHORIZED');
    ws.send(connectPacket({ token: alice.token }));
    expect(await next()).toMatch(/^40\{"sid":/);
  });

  it('answers a client that passes its token as a bare string connect_error UNAUTHORIZED', async () => {
    await expect(connect(node.url, alice.token as unknown as { token: string })).rejects.toThrow('UNAUTHORIZED');
  });

  it('answers an auth of more than 10,000 values VALIDATION_FAILED unread, before any sign-in is tried, and lets the connection try again', async () => {
    const { ws, next } = await rawConnection();
    ws.send(connectPacket({ token: alice.token, ...Object.fromEntries(Array.from({ length: 6_000 }, (_, i) => [`k${i}`, 1])) }));
    // Before: the connection closed, with no answer.
    expect(refusalCode(await next())).toBe('VALIDATION_FAILED');
    ws.send(connectPacket({ token: alice.token }));
    expect(await next()).toMatch(/^40\{"sid":/);
  });
});

describe('transports', () => {
  it('refuses JSONP polling, which a page of any site could drive through script tags, and serves plain polling', async () => {
    const jsonp = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling&j=0`);
    expect(jsonp.status).toBe(403);
    const polling = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`);
    expect(polling.status).toBe(200);
    expect(await polling.text()).toMatch(/^0\{"sid":/);
  });

  it("puts the security headers on socket.io's own answers, long-polling's, a WebSocket's upgrade and its refusals", async () => {
    const expected = {
      'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'DENY',
      'referrer-policy': 'no-referrer',
    };
    const polling = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`);
    const sid = JSON.parse((await polling.text()).slice(1)).sid;
    const next = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '1' });
    for (const answer of [polling, next])
      expect(Object.fromEntries(Object.keys(expected).map((name) => [name, answer.headers.get(name)]))).toEqual(expected);

    const socket = new WebSocket(`${node.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    const upgrade = await new Promise<Record<string, unknown>>((resolve) =>
      socket.once('upgrade', (response) => resolve(response.headers)),
    );
    socket.close();
    expect(Object.fromEntries(Object.keys(expected).map((name) => [name, upgrade[name]]))).toEqual(expected);

    // Its refusals too, which it writes itself: JSONP, a foreign origin, a version it does not speak.
    const refusals = [
      await fetch(`${node.url}/socket.io/?EIO=4&transport=polling&j=0`),
      await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'https://evil.example' } }),
      await fetch(`${node.url}/socket.io/?EIO=2&transport=polling`),
    ];
    expect(refusals.map((answer) => answer.status)).toEqual([403, 403, 400]);
    for (const answer of refusals)
      expect(Object.fromEntries(Object.keys(expected).map((name) => [name, answer.headers.get(name)]))).toEqual(expected);
  });
});

describe('binary messages, which no event of the contract carries', () => {
  // socket.io's 1 MiB limit holds for each binary attachment alone: a packet announcing ten made a
  // message of 10 MiB, held until its last part came. One that announces any closes its connection.
  const binaryEvent = `451-["task:create",{"_placeholder":true,"num":0}]`;

  it('close a connection that announces one before any handshake', async () => {
    const { ws, closed } = await rawConnection();
    ws.send(binaryEvent);
    await closed;
  });

  it('close a signed-in socket that announces one, and so do binary data sent on their own', async () => {
    for (const send of [(ws: WebSocket) => ws.send(binaryEvent), (ws: WebSocket) => ws.send(Buffer.alloc(1000))]) {
      const { ws, next, closed } = await rawConnection();
      ws.send(connectPacket({ token: alice.token }));
      expect(await next()).toMatch(/^40\{"sid":/);
      send(ws);
      await closed;
    }
  });
});

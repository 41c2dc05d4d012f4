import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINGER_BYTES, LINGER_MS } from '../server/http/lingering-close.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';

// A body over 1 MiB is answered 413 before the rest of it has come. A client still sending it
// must get that answer, not a reset; and the connection must take nothing more as a request.
let db: TestDatabase;
let node: RunningServer;
const logged: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url, LOG_LEVEL: 'info' }, { logStream: { write: (line) => logged.push(line) } });
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

const CHUNK = `${(64 * 1024).toString(16)}\r\n${'x'.repeat(64 * 1024)}\r\n`;

/** A chunked `POST /auth/register` whose body is still being sent: what the server sent back, and how the connection ended. */
interface Upload {
  socket: net.Socket;
  /** The client's port, as the server's log names the connection. */
  port: Promise<number>;
  /** Everything the server has sent so far. */
  received(): string;
  /** Resolves once the server has begun its answer. */
  answered: Promise<void>;
  /** Resolves with the socket's error code, or null for a clean close, once the connection is closed. */
  closed: Promise<string | null>;
}

function startUpload(): Upload {
  const { port } = new URL(node.url);
  // Half-open allowed, as an HTTP client's socket is: the server's end of writing does not end the upload.
  const socket = net.connect({ port: Number(port), host: '127.0.0.1', allowHalfOpen: true });
  let text = '';
  let answer: () => void;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  let failure: string | null = null;
  const connected = new Promise<number>((resolve) => socket.once('connect', () => resolve(socket.localPort!)));
  socket.on('data', (data) => {
    text += data.toString('latin1');
    if (text.includes('\r\n\r\n')) answer();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => (failure ??= error.code ?? error.message));
  const closed = new Promise<string | null>((resolve) => socket.once('close', () => resolve(failure)));
  socket.write(
    'POST /api/v1/auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
  );
  return { socket, port: connected, received: () => text, answered, closed };
}

/** Sends 64-KiB chunks until `until` resolves; how many bytes went. */
async function sendUntil(socket: net.Socket, until: Promise<unknown>): Promise<number> {
  let done = false;
  void until.then(() => (done = true));
  let sent = 0;
  while (!done && !socket.destroyed) {
    if (!socket.write(CHUNK)) await Promise.race([new Promise((resolve) => socket.once('drain', resolve)), until]);
    sent += CHUNK.length;
  }
  return sent;
}

describe('a body answered before it has all come', () => {
  it('is read to its end, so its client gets the 413 and a clean close', async () => {
    const upload = startUpload();
    await sendUntil(upload.socket, upload.answered);
    // Still sending after the answer: 2 MiB more, then the body's end.
    for (let i = 0; i < 32; i++) upload.socket.write(CHUNK);
    upload.socket.end('0\r\n\r\n');

    expect(await upload.closed).toBeNull();
    expect(upload.received().match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 413']);
    expect(upload.received()).toContain('"code":"PAYLOAD_TOO_LARGE"');
    expect(upload.received().toLowerCase()).toContain('connection: close');
  });

  it(`reads no more than ${LINGER_BYTES / (1 << 20)} MiB of what comes after its answer`, async () => {
    const upload = startUpload();
    await sendUntil(upload.socket, upload.answered);
    const after = await sendUntil(upload.socket, upload.closed);
    expect(await upload.closed).not.toBeNull();
    expect(upload.received()).toContain('HTTP/1.1 413');
    // Counted from the client's side: some of what the server read had left before the answer, and
    // what the kernels' buffers held when it closed had been sent, not read.
    expect(after).toBeGreaterThan(LINGER_BYTES / 2);
    expect(after).toBeLessThan(LINGER_BYTES + 32 * (1 << 20));
  });

  it(`takes no request sent after it on that connection, and waits no more than ${LINGER_MS / 1000} s for a client that keeps sending`, async () => {
    const upload = startUpload();
    const port = await upload.port;
    await sendUntil(upload.socket, upload.answered);
    const answeredAt = performance.now();
    const body = JSON.stringify({ email: 'after-413@example.test', password: 'correct horse battery', name: 'After' });
    upload.socket.write(
      `0\r\n\r\nPOST /api/v1/auth/register HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    const trickle = setInterval(() => upload.socket.write('more '), 100);
    await upload.closed;
    clearInterval(trickle);
    const lingered = performance.now() - answeredAt;

    expect(upload.received().match(/HTTP\/1\.1 \d{3}/g)).toEqual(['HTTP/1.1 413']);
    const taken = logged.filter((line) => line.includes('incoming request') && line.includes(`"remotePort":${port}`));
    expect(taken).toHaveLength(1);
    expect(await db.query(`select 1 from users where email = 'after-413@example.test'`)).toEqual([]);
    expect(lingered).toBeGreaterThan(LINGER_MS - 500);
    expect(lingered).toBeLessThan(LINGER_MS + 10_000);
  }, 30_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { addMember, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, request } from './support/sockets.js';

// A client that stops reading must not make the node hold everything it is sent. The node here
// drops a connection once more than 1 MB waits for it; the board's snapshot is about 2 MB, so
// each answer alone is over the limit, which counts only what waits behind the one being written.
let db: TestDatabase;
let node: RunningServer;
let alice: TestUser;
let mallory: TestUser;
let projectId: string;
let org: TestOrg;

const JOINS = 40; // 80 MB asked for: well past what the kernel's buffers take on loopback

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url, SOCKET_BACKLOG_LIMIT: '1' });
  [alice, mallory] = await Promise.all([registerUser(node.url, 'alice'), registerUser(node.url, 'mallory')]);
  org = await createOrg(node.url, alice);
  await addMember(node.url, org, mallory, 'viewer');
  const { project, columns } = await createProject(node.url, org);
  projectId = project.id;
  const writer = await connect(node.url, { token: alice.token });
  for (let i = 0; i < 100; i++)
    await ok(writer, 'task:create', { projectId, columnId: columns[0]!.id, title: `Task ${i}`, description: 'd'.repeat(20_000) });
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

/** Stops the client reading from its connection, as a stalled network or a hostile client would. */
function stopReading(socket: ClientSocket): () => void {
  const tcp = (socket.io.engine.transport as unknown as { ws: { _socket: { pause(): void; resume(): void } } }).ws._socket;
  tcp.pause();
  return () => tcp.resume();
}

describe('a client that stops reading', () => {
  it('is dropped once more than SOCKET_BACKLOG_LIMIT waits for it, while one that reads is served whole', async () => {
    const connectionsBefore = node.server.io.engine.clientsCount;
    const stalled = await connect(node.url, { token: mallory.token });
    const onServer = node.server.io.of('/').sockets.get(stalled.id!)!;
    const dropped = new Promise<string>((resolve) => onServer.once('disconnect', resolve));
    const resume = stopReading(stalled);
    for (let i = 0; i < JOINS; i++) stalled.emit('board:join', { projectId }, () => {});

    const reader = await connect(node.url, { token: alice.token });
    for (let i = 0; i < 10; i++) {
      const answer = await request(reader, 'board:join', { projectId });
      expect(answer.ok && answer.data.tasks.length).toBe(100);
    }
    expect(reader.connected).toBe(true);

    expect(await dropped).toBe('forced close');
    expect(node.server.io.engine.clientsCount).toBe(connectionsBefore + 1); // the reader's: the stalled one is gone, not closing
    const seenByClient = new Promise<string>((resolve) => stalled.once('disconnect', resolve));
    resume();
    expect(await seenByClient).toBe('transport close');
  }, 30_000);

  it('is dropped by a burst of one tick too: what waits behind its first packet counts', async () => {
    // A node writes what a connection is sent in one tick as one batch (coalesced-writes.ts).
    const stalled = await connect(node.url, { token: mallory.token });
    const onServer = node.server.io.of('/').sockets.get(stalled.id!)!;
    const dropped = new Promise<string>((resolve) => onServer.once('disconnect', resolve));
    stopReading(stalled);
    const event = {
      projectId,
      seq: 1,
      type: 'task.updated',
      actor: null,
      data: { note: 'x'.repeat(100_000) },
      clientMutationId: null,
      at: '',
    };

    for (let i = 0; i < 30; i++) node.server.io.to(stalled.id!).emit('board:event', event as never); // 3 MB in one tick

    expect(await dropped).toBe('forced close');
  });
});

describe('a client that sends WebSocket pings', () => {
  // ws answers each ping with a pong by itself, below socket.io: no rate limit counts them, and the
  // backlog limits see them only in the node's sweep. Since ws 8.23 a connection with 60 pongs not
  // yet written is cut. Pings go 20 a turn here, under that however they are read.
  const PER_TURN = 20;
  const MAX_PINGS = 400_000; // 50 MB of pings: far past what loopback's kernel buffers take of the pongs
  const ping = Buffer.alloc(125); // the largest a control frame may carry

  function wsOf(socket: ClientSocket): WebSocket {
    return (socket.io.engine.transport as unknown as { ws: WebSocket }).ws;
  }

  it('is answered, and kept, while it reads its pongs', async () => {
    const pinger = await connect(node.url, { token: mallory.token });
    const ws = wsOf(pinger);
    let pongs = 0;
    ws.on('pong', () => (pongs += 1));
    for (let sent = 0; sent < 2000; sent += PER_TURN) {
      for (let i = 0; i < PER_TURN; i++) ws.ping(ping);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await eventually(() => expect(pongs).toBe(2000));
    expect(pinger.connected).toBe(true);
  });

  it('is cut once it reads none of them, long before the node-wide limit', async () => {
    const flooder = await connect(node.url, { token: mallory.token });
    const onServer = node.server.io.of('/').sockets.get(flooder.id!)!;
    let cut = false;
    const closed = new Promise<string>((resolve) => onServer.once('disconnect', (why) => resolve(((cut = true), why))));
    const ws = wsOf(flooder);
    stopReading(flooder);
    let sent = 0;
    while (!cut && sent < MAX_PINGS && ws.readyState === ws.OPEN) {
      for (let i = 0; i < PER_TURN; i++) ws.ping(ping);
      sent += PER_TURN;
      await new Promise((resolve) => setImmediate(resolve));
    }
    // Every ping written with the connection kept is the failure; one the client could not write waits for the cut.
    const allWritten = new Promise<string>((resolve) =>
      ws.ping(ping, true, (error) => {
        if (!error) resolve('every ping written, connection kept');
      }),
    );
    expect(await Promise.race([closed, allWritten])).toBe('transport close');
    expect(sent).toBeLessThan(MAX_PINGS);
  }, 60_000);
});

describe('a client that reads nothing of one answer bigger than SOCKET_BACKLOG_LIMIT', () => {
  let bigBoard: string;

  beforeAll(async () => {
    const { project, columns } = await createProject(node.url, org, 'Big');
    bigBoard = project.id;
    const writer = await connect(node.url, { token: alice.token });
    await ok(writer, 'task:create', { projectId: bigBoard, columnId: columns[0]!.id, title: 'Big', description: 'd'.repeat(20_000) });
    // 900 cards of 20 KB: an 18 MB snapshot, past what the kernel's buffers take on loopback.
    await db.query(
      `insert into tasks select (jsonb_populate_record(null::tasks, to_jsonb(t)
          || jsonb_build_object('id', gen_random_uuid(), 'position', t.position || lpad(g::text, 4, '0')))).*
         from tasks t, generate_series(1, 899) g where t.project_id = $1`,
      [bigBoard],
    );
  }, 60_000);

  it('is dropped at its second heartbeat with nothing more read, while one that reads gets it whole', async () => {
    const reader = await connect(node.url, { token: alice.token });
    const whole = await request(reader, 'board:join', { projectId: bigBoard });
    expect(whole.ok && whole.data.tasks.length).toBe(900);

    const stalled = await connect(node.url, { token: mallory.token });
    const onServer = node.server.io.of('/').sockets.get(stalled.id!)!;
    const dropped = new Promise<string>((resolve) => onServer.once('disconnect', resolve));
    stopReading(stalled);
    stalled.emit('board:join', { projectId: bigBoard }, () => {});
    // It keeps the connection alive with heartbeats of its own, so the ping timeout never comes.
    const engine = stalled.io.engine as unknown as { _sendPacket(type: string): void };
    const heartbeats = setInterval(() => engine._sendPacket('pong'), 300);
    try {
      expect(await dropped).toBe('forced close');
    } finally {
      clearInterval(heartbeats);
    }
    expect(reader.connected).toBe(true);
  }, 30_000);
});

describe('many clients that read nothing, each under SOCKET_BACKLOG_LIMIT', () => {
  const NODE_LIMIT_MIB = 8;
  let shedding: RunningServer;

  beforeAll(async () => {
    shedding = await startServer({ DATABASE_URL: db.url, NODE_BACKLOG_LIMIT: String(NODE_LIMIT_MIB) });
  });

  afterAll(async () => {
    closeAllSockets();
    await shedding?.close();
  });

  /** What the node holds for its clients: the packets waiting for each connection, and what each TCP socket has not handed the kernel yet. */
  function heldByNode(): number {
    const connections = (shedding.server.io.engine as unknown as { clients: Record<string, HeldConnection> }).clients;
    return Object.values(connections).reduce(
      (sum, connection) =>
        sum +
        (connection.transport.socket?._socket?.writableLength ?? 0) +
        connection.writeBuffer.reduce((size, packet) => size + (typeof packet.data === 'string' ? packet.data.length : 0), 0),
      0,
    );
  }

  it('are dropped, those holding the most first, once the node holds more than NODE_BACKLOG_LIMIT for its clients; one that reads is served whole', async () => {
    const stalled = await Promise.all(Array.from({ length: 6 }, () => connect(shedding.url, { token: mallory.token })));
    const dropped = stalled.map((socket) => {
      const onServer = shedding.server.io.of('/').sockets.get(socket.id!)!;
      return new Promise<string>((resolve) => onServer.once('disconnect', resolve));
    });
    for (const socket of stalled) {
      stopReading(socket);
      // Six snapshots of about 2 MB each, past what the kernel's buffers take on loopback: what waits
      // behind the first is under SOCKET_BACKLOG_LIMIT (16 MiB).
      for (let i = 0; i < 6; i++) socket.emit('board:join', { projectId }, () => {});
    }

    const reader = await connect(shedding.url, { token: alice.token });
    for (let i = 0; i < 5; i++) {
      const answer = await request(reader, 'board:join', { projectId });
      expect(answer.ok && answer.data.tasks.length).toBe(100);
    }
    expect(await Promise.race(dropped)).toBe('forced close');
    await expect.poll(heldByNode).toBeLessThanOrEqual(NODE_LIMIT_MIB * 2 ** 20);
    expect(reader.connected).toBe(true);
  }, 30_000);
});

interface HeldConnection {
  transport: { socket?: { _socket?: { writableLength?: number } } };
  writeBuffer: Array<{ data?: unknown }>;
}

import type { Socket as TcpSocket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, nextEvent } from './support/sockets.js';

// A board's message answers several changes at once: each viewer then gets several events in one
// tick, and each writer several acks. They should leave in one write to the kernel, not one apiece.
let db: TestDatabase;
let node: RunningServer;
let alice: TestUser;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  alice = await registerUser(node.url, 'alice');
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

/** Counts the writes the server hands the kernel on the TCP socket under one client's WebSocket. */
function countWrites(socketId: string): () => number {
  const connection = node.server.io.of('/').sockets.get(socketId)!.conn as unknown as { transport: { socket: { _socket: TcpSocket } } };
  const tcp = connection.transport.socket._socket as TcpSocket & Pick<Required<TcpSocket>, '_write' | '_writev'>;
  let writes = 0;
  const [write, writev] = [tcp._write.bind(tcp), tcp._writev.bind(tcp)];
  tcp._write = (...args) => (writes++, write(...args));
  tcp._writev = (...args) => (writes++, writev(...args));
  return () => writes;
}

/** A board event to send as the server does; the client reads only its `seq`. */
const event = (seq: number) =>
  ({ projectId: 'p', seq, type: 'task.updated', actor: null, data: {}, clientMutationId: null, at: '' }) as never;

describe('what a connection is sent in one tick', () => {
  it('leaves in one write, in the order it was sent', async () => {
    const viewer = await connect(node.url, { token: alice.token });
    const writes = countWrites(viewer.id!);
    const received: number[] = [];
    const all = new Promise<void>((resolve) =>
      viewer.on('board:event', (event) => {
        received.push(event.seq);
        if (received.length === 4) resolve();
      }),
    );
    const server = node.server.io;
    for (const seq of [1, 2, 3]) server.to(viewer.id!).emit('board:event', event(seq)); // as a broadcast goes
    server.of('/').sockets.get(viewer.id!)!.emit('board:event', event(4)); // as an ack goes

    await all;
    expect(received).toEqual([1, 2, 3, 4]);
    expect(writes()).toBe(1);
  });

  it('still reaches the others when one connection fails to write, and that one is closed', async () => {
    const [broken, other] = [await connect(node.url, { token: alice.token }), await connect(node.url, { token: alice.token })];
    const server = node.server.io;
    const connection = server.of('/').sockets.get(broken.id!)!.conn as unknown as { transport: { send(): void } };
    connection.transport.send = () => {
      throw new Error('write failed');
    };
    const closed = new Promise<string>((resolve) => broken.once('disconnect', resolve));
    const received = nextEvent(other, 'board:event');

    server.to([broken.id!, other.id!]).emit('board:event', event(1));

    expect((await received).seq).toBe(1);
    expect(await closed).toBe('transport close');
  });
});

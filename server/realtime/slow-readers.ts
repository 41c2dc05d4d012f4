import type { FastifyBaseLogger } from 'fastify';
import type { TaskFlowServer } from './types.js';

/**
 * What the guard reads of an engine.io connection: the packets waiting for its transport, which
 * stays unwritable while the last batch it was given has not reached the kernel.
 */
interface Connection {
  id: string;
  remoteAddress: string;
  transport: { writable: boolean; socket?: { terminate?: () => void; _socket?: Tcp } };
  writeBuffer: Array<{ data?: unknown }>;
  close(discard: boolean): void;
}

/** What the guard reads of a WebSocket's TCP socket: the bytes written to it that the kernel has not taken, those Node gave libuv, and those libuv still holds. */
interface Tcp {
  writableLength?: number;
  _bytesDispatched?: number;
  _handle?: { writeQueueSize?: number } | null;
}

/** Per connection with packets waiting: about how many bytes they hold. */
const waitingBytes = new WeakMap<Connection, number>();

/** Per connection whose TCP socket held bytes at its last heartbeat: how many the kernel had taken by then. */
const takenAtHeartbeat = new WeakMap<Connection, number>();

/**
 * Drops every connection whose client reads slower than its answers and broadcasts arrive, once
 * what waits for it passes `limitBytes`. A client that stops reading (a stalled network, or an
 * attacker asking for board after board) would otherwise make the node hold all it was sent,
 * without bound. The client sees a lost transport; the SDK reconnects and resyncs from its last
 * `seq`, and retries what was not answered.
 *
 * Counted: the packets waiting behind the batch the transport is still writing (whose size the
 * limit before bounded), or behind the first packet of the tick (`coalesced-writes.ts` holds a
 * tick's packets and writes them as one batch), by their text's length. One shared listener per
 * connection, no timer.
 *
 * The batch being written is not counted, so that an answer bigger than the limit (a big board's
 * snapshot) still reaches a client that reads it. One that reads none of it, and keeps its
 * connection alive by sending heartbeats of its own, is dropped at its second heartbeat in a row
 * with bytes still waiting in its WebSocket's TCP socket and none more taken by the kernel meanwhile:
 * without that, each such connection held a snapshot in the node's memory for good. (A client
 * answers the node's pings, 25 s apart, and a ping waits behind what it has not read.)
 */
export function dropSlowReaders(io: TaskFlowServer, limitBytes: number, log: FastifyBaseLogger): void {
  function countWaiting(this: Connection, packet: { data?: unknown }): void {
    // On a writable transport a tick's first packet is written first, when the tick ends: not counted.
    const uncounted = this.transport.writable ? 1 : 0;
    if (this.writeBuffer.length < uncounted) return;
    const before = this.writeBuffer.length === uncounted ? 0 : (waitingBytes.get(this) ?? 0);
    const waiting = before + sizeOf(packet.data);
    waitingBytes.set(this, waiting);
    if (waiting > limitBytes) dropConnection(this, log, 'dropped a connection that stopped reading', { waitingBytes: waiting });
  }

  function checkReading(this: Connection): void {
    const held = heldByTcp(this);
    const taken = takenByKernel(this);
    if (held === 0 || taken === undefined) {
      takenAtHeartbeat.delete(this);
      return;
    }
    const before = takenAtHeartbeat.get(this);
    takenAtHeartbeat.set(this, taken);
    if (before !== undefined && taken <= before)
      dropConnection(this, log, 'dropped a connection that read nothing between two heartbeats', { heldBytes: held });
  }

  io.engine.on('connection', (connection: Connection & NodeJS.EventEmitter) => {
    connection.on('packetCreate', countWaiting);
    connection.on('heartbeat', checkReading);
  });
}

/**
 * Drops the connections holding the most once the node as a whole holds more than
 * `totalLimitBytes` for its clients: every `everyMs`, what waits for each connection and what its
 * WebSocket's TCP socket still holds for the kernel are added up, and while the sum passes the
 * limit the connection holding the most is dropped, those that took nothing since the sweep before
 * first. `SOCKET_BACKLOG_LIMIT` bounds one connection, and the heartbeat check the time a reader of
 * nothing is kept, but not how many such connections there are: 40 sockets of one account, each
 * asking for three snapshots of a 7.8 MB board and reading none, held 1.76 GB until their
 * heartbeats lapsed, and accounts are as many as sign-ups. A client dropped here sees a lost
 * transport, as at `SOCKET_BACKLOG_LIMIT`.
 */
export function shedBacklogs(io: TaskFlowServer, totalLimitBytes: number, log: FastifyBaseLogger, everyMs = 1000): { stop(): void } {
  const takenAtSweep = new WeakMap<Connection, number>();
  const timer = setInterval(() => {
    const holding: Array<{ connection: Connection; held: number; reading: boolean }> = [];
    let total = 0;
    // engine.io's documented `clients` (its typings call it protected): its connections by id.
    const connections = (io.engine as unknown as { clients: Record<string, Connection> }).clients;
    for (const connection of Object.values(connections)) {
      const held = heldByTcp(connection) + sizeOfPackets(connection.writeBuffer);
      if (held === 0) continue; // most connections, every second: nothing more to read of them
      const taken = takenByKernel(connection);
      const takenBefore = takenAtSweep.get(connection);
      // Reading: the kernel took some since it was last seen holding bytes, or it is seen holding for the first time.
      const reading = taken !== undefined && (takenBefore === undefined || taken > takenBefore);
      if (taken !== undefined) takenAtSweep.set(connection, taken);
      total += held;
      holding.push({ connection, held, reading });
    }
    if (total <= totalLimitBytes) return;
    holding.sort((a, b) => Number(a.reading) - Number(b.reading) || b.held - a.held);
    for (const { connection, held } of holding) {
      if (total <= totalLimitBytes) break;
      dropConnection(connection, log, 'dropped the connection holding the most while the node held more than NODE_BACKLOG_LIMIT', {
        heldBytes: held,
        nodeHeldBytes: total,
      });
      total -= held;
    }
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function dropConnection(connection: Connection, log: FastifyBaseLogger, why: string, details: Record<string, number>): void {
  waitingBytes.delete(connection);
  takenAtHeartbeat.delete(connection);
  log.warn({ connection: connection.id, address: connection.remoteAddress, ...details }, why);
  connection.close(true); // the waiting packets are discarded
  connection.transport.socket?.terminate?.(); // and the batch being written: a closing handshake would wait for a reader that reads nothing
}

/**
 * The bytes a connection's WebSocket has written to its TCP socket that the kernel has not taken
 * yet, whether libuv holds them or the stream in front of it (a write made while one is under
 * way waits there): 0 over long-polling.
 */
function heldByTcp(connection: Connection): number {
  return connection.transport.socket?._socket?.writableLength ?? 0;
}

/** How many bytes the kernel has taken from a connection's WebSocket, if it has one: those given libuv, less those libuv still holds. */
function takenByKernel(connection: Connection): number | undefined {
  const tcp = connection.transport.socket?._socket;
  if (typeof tcp?._bytesDispatched !== 'number') return undefined;
  return tcp._bytesDispatched - (tcp._handle?.writeQueueSize ?? 0);
}

function sizeOfPackets(packets: Array<{ data?: unknown }>): number {
  let size = 0;
  for (const packet of packets) size += sizeOf(packet.data);
  return size;
}

function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

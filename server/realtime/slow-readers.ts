import type { FastifyBaseLogger } from 'fastify';
import type { TaskFlowServer } from './types.js';

/**
 * What the guard reads of an engine.io connection: the packets waiting for its transport, which
 * stays unwritable while the last batch it was given has not reached the kernel.
 */
export interface Connection {
  id: string;
  remoteAddress: string;
  transport: { writable: boolean; socket?: { terminate?: () => void; _socket?: Tcp } };
  writeBuffer: Array<{ data?: unknown }>;
  close(discard: boolean): void;
}

/** What the guard reads of a WebSocket's TCP socket: the bytes written to it that the kernel has not taken, those Node gave libuv, and those libuv still holds. */
export interface Tcp {
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
    const taken = takenByKernel(this.transport.socket?._socket);
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

/** Drops a connection at once, what waits for it and what its WebSocket is writing with it, and logs why. */
export function dropConnection(connection: Connection, log: FastifyBaseLogger, why: string, details: Record<string, number>): void {
  waitingBytes.delete(connection);
  takenAtHeartbeat.delete(connection);
  log.warn({ connection: connection.id, address: connection.remoteAddress, ...details }, why);
  connection.close(true); // the waiting packets are discarded
  connection.transport.socket?.terminate?.(); // and the batch being written: a closing handshake would wait for a reader that reads nothing
}

/** What the node holds for a connection's client: the packets waiting for it, and what its WebSocket's TCP socket has not handed the kernel. */
export function heldFor(connection: Connection): number {
  let size = heldByTcp(connection);
  for (const packet of connection.writeBuffer) size += sizeOf(packet.data);
  return size;
}

/**
 * The bytes a connection's WebSocket has written to its TCP socket that the kernel has not taken
 * yet, whether libuv holds them or the stream in front of it (a write made while one is under
 * way waits there): 0 over long-polling.
 */
function heldByTcp(connection: Connection): number {
  return connection.transport.socket?._socket?.writableLength ?? 0;
}

/** How many bytes the kernel has taken from a TCP socket: those given libuv, less those libuv still holds. */
export function takenByKernel(tcp: Tcp | undefined): number | undefined {
  if (typeof tcp?._bytesDispatched !== 'number') return undefined;
  return tcp._bytesDispatched - (tcp._handle?.writeQueueSize ?? 0);
}

function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

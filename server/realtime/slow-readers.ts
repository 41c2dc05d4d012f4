import type { FastifyBaseLogger } from 'fastify';
import type { TaskFlowServer } from './types.js';

/**
 * What the guard reads of an engine.io connection: the packets waiting for its transport, which
 * stays unwritable while the last batch it was given has not reached the kernel.
 */
interface Connection {
  id: string;
  remoteAddress: string;
  transport: { writable: boolean; socket?: { terminate?: () => void } };
  writeBuffer: Array<{ data?: unknown }>;
  close(discard: boolean): void;
}

/** Per connection with packets waiting: about how many bytes they hold. */
const waitingBytes = new WeakMap<Connection, number>();

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
 */
export function dropSlowReaders(io: TaskFlowServer, limitBytes: number, log: FastifyBaseLogger): void {
  function countWaiting(this: Connection, packet: { data?: unknown }): void {
    // On a writable transport a tick's first packet is written first, when the tick ends: not counted.
    const uncounted = this.transport.writable ? 1 : 0;
    if (this.writeBuffer.length < uncounted) return;
    const before = this.writeBuffer.length === uncounted ? 0 : (waitingBytes.get(this) ?? 0);
    const waiting = before + sizeOf(packet.data);
    waitingBytes.set(this, waiting);
    if (waiting <= limitBytes) return;
    waitingBytes.delete(this);
    log.warn({ connection: this.id, address: this.remoteAddress, waitingBytes: waiting }, 'dropped a connection that stopped reading');
    this.close(true); // the waiting packets are discarded
    this.transport.socket?.terminate?.(); // and the batch being written: a closing handshake would wait for a reader that reads nothing
  }
  io.engine.on('connection', (connection: Connection & NodeJS.EventEmitter) => connection.on('packetCreate', countWaiting));
}

function sizeOf(data: unknown): number {
  if (typeof data === 'string') return data.length;
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

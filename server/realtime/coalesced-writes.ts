import type { FastifyBaseLogger } from 'fastify';
import type { TaskFlowServer } from './types.js';

/** What this reads of an engine.io connection. */
interface Connection {
  readyState: string;
  flush(): void;
  close(discard: boolean): void;
  writeBuffer: unknown[];
  transport: { socket?: { _socket?: { cork?: () => void; uncork?: () => void } } };
}

/**
 * Writes what a connection is sent in one tick in one write to the kernel. engine.io writes each
 * packet at once, one WebSocket frame and one system call apiece; a board's message answers
 * several changes at a time, so a viewer of the board got one write per change and a writer one
 * per ack. Now a connection's packets wait for the end of the tick (one `process.nextTick` for
 * all connections: scheduled from a promise callback, as a message's answers are, it runs after
 * the others queued with it) and go out together, their frames corked into one write. The order
 * of the packets does not change. `slow-readers.ts` counts the packets of a tick after the first
 * as waiting.
 *
 * Each connection gets one shared function in place of its `flush`, and no state of its own: an
 * idle socket's memory is in DESIGN §9's budget.
 *
 * `writeNow` writes what is queued so far without waiting for the end of the tick, for a sender
 * that measures what its writes cost (presence lists: `presence.ts`).
 */
export function coalesceWrites(io: TaskFlowServer, log: FastifyBaseLogger): { writeNow(): void } {
  const flushNow = (connection: Connection) => (Object.getPrototypeOf(connection) as Connection).flush.call(connection); // engine.io's own
  let due = new Set<Connection>();
  /**
   * Drops a connection whose write threw, in an unknown state (its client reconnects and catches
   * up), so that the others of the tick are still written. Nothing thrown in `flushDue` may
   * escape: it would end the process.
   */
  const drop = (connection: Connection, error: unknown) => {
    log.error({ err: error }, 'writing to a connection failed');
    try {
      connection.close(true);
    } catch (closing) {
      log.error({ err: closing }, 'closing a connection that failed to write failed'); // its close's listeners threw
    }
  };
  const flushDue = () => {
    const connections = due;
    due = new Set(); // what these send while flushing is due at the end of the next tick
    for (const connection of connections) {
      const tcp = connection.writeBuffer.length > 1 ? connection.transport.socket?._socket : undefined; // ws's, on the WebSocket transport
      tcp?.cork?.();
      try {
        flushNow(connection);
      } catch (error) {
        drop(connection, error);
      } finally {
        tcp?.uncork?.();
      }
    }
  };
  function deferredFlush(this: Connection): void {
    // Not while the connection opens or closes: engine.io closes a transport right after some flushes.
    if (this.readyState !== 'open') return flushNow(this);
    if (due.size === 0) process.nextTick(flushDue);
    due.add(this);
  }
  io.engine.on('connection', (connection: Connection) => {
    connection.flush = deferredFlush;
  });
  return { writeNow: flushDue };
}

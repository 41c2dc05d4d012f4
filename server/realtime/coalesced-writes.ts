import type { TaskFlowServer } from './types.js';

/** What this reads of an engine.io connection. */
interface Connection {
  flush(): void;
  writeBuffer: unknown[];
  transport: { socket?: { _socket?: { cork?: () => void; uncork?: () => void } } };
}

/**
 * Writes what a connection is sent in one tick in one write to the kernel. engine.io writes each
 * packet at once, one WebSocket frame and one system call apiece; a board's message answers
 * several changes at a time, so a viewer of the board got one write per change and a writer one
 * per ack. Now a connection's packets wait for the end of the tick (`process.nextTick`, after the
 * promise callbacks that answer the rest of the message) and go out together, their frames corked
 * into one write. The order of the packets does not change.
 */
export function coalesceWrites(io: TaskFlowServer): void {
  const due = new Set<Connection>();
  const flushDue = () => {
    const connections = [...due];
    due.clear(); // what these send while flushing is due at the end of the next tick
    for (const connection of connections) {
      const flush = flushNow.get(connection)!;
      if (connection.writeBuffer.length < 2) flush();
      else {
        const tcp = connection.transport.socket?._socket; // ws's, on the WebSocket transport
        tcp?.cork?.();
        flush();
        tcp?.uncork?.();
      }
    }
  };
  const flushNow = new WeakMap<Connection, () => void>();
  io.engine.on('connection', (connection: Connection) => {
    flushNow.set(connection, connection.flush.bind(connection));
    connection.flush = () => {
      if (due.size === 0) process.nextTick(flushDue);
      due.add(connection);
    };
  });
}

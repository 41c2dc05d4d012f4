import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Drops every connection through the proxy and refuses new ones: a link that broke. */
  cut(): Promise<void>;
  /** Takes new connections and never answers them, as a hung host does; open ones go on. */
  stall(): void;
  /** From now on, drops what the service sends back on the open connections (answers lost on the way). */
  swallow(): void;
  /**
   * `swallow`s from the moment a connection sends a message that matches `then` after one that
   * matched `first`: the answer to a transaction's commit lost, say, once it has written a row of `first`'s table.
   */
  swallowFrom(first: RegExp, then: RegExp): void;
  /**
   * From now on, drops what goes either way on the connections open now, which stay open, a close
   * at one end unheard at the other; new ones are served: a half-open connection, as a failover or
   * a frozen proxy leaves.
   */
  silenceOpen(): void;
  /** Serves connections again, on the same port; stalled ones are dropped. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/** A TCP proxy on loopback to `targetPort`, for breaking one process's link to a service while others keep theirs. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  const stalled = new Set<Socket>();
  let stalling = false;
  let swallowing = false;
  let swallowingFrom: { first: RegExp; then: RegExp; after: WeakSet<Socket> } | null = null;
  const silenced = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (stalling) {
      stalled.add(client);
      client.on('error', () => {});
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    client.on('data', (message: Buffer) => {
      if (swallowingFrom) {
        const text = message.toString('latin1');
        if (swallowingFrom.after.has(client) && swallowingFrom.then.test(text)) [swallowing, swallowingFrom] = [true, null];
        else if (swallowingFrom.first.test(text)) swallowingFrom.after.add(client);
      }
      if (!silenced.has(client)) upstream.write(message);
    });
    upstream.on('data', (answer: Buffer) => {
      if (!swallowing && !silenced.has(client)) client.write(answer);
    });
    for (const [socket, other] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      open.add(socket);
      socket.on('error', () => other.destroy());
      socket.on('close', () => {
        open.delete(socket);
        // A half-open path carries no close either: the other end stays open until the proxy closes.
        if (!silenced.has(socket)) other.destroy();
        silenced.delete(socket);
      });
    }
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as { port: number }).port;
  const dropStalled = () => {
    stalling = swallowing = false;
    swallowingFrom = null;
    for (const socket of stalled) socket.destroy();
    stalled.clear();
  };
  const stop = () =>
    new Promise<void>((resolve) => {
      dropStalled();
      if (!server.listening) return resolve();
      server.close(() => resolve());
      for (const socket of open) socket.destroy();
    });
  return {
    port,
    cut: stop,
    stall: () => {
      stalling = true;
    },
    swallow: () => {
      swallowing = true;
    },
    swallowFrom: (first, then) => {
      swallowingFrom = { first, then, after: new WeakSet() };
    },
    silenceOpen: () => {
      for (const socket of open) silenced.add(socket);
    },
    restore: async () => {
      dropStalled();
      if (!server.listening) await listen(port);
    },
    close: stop,
  };
}

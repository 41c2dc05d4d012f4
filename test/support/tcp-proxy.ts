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
   * Breaks the one connection that sends a message matching `then` after one that matched
   * `first`, once that message has gone on: the service takes it (a commit, say), its answer is
   * lost, and the other connections go on.
   */
  breakAfter(first: RegExp, then: RegExp): void;
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
  // The message watched for, and what then happens (`swallowFrom`, `breakAfter`).
  let watching: { first: RegExp; then: RegExp; after: WeakSet<Socket>; act: 'swallow' | 'break' } | null = null;
  const silenced = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (stalling) {
      stalled.add(client);
      client.on('error', () => {});
      return;
    }
    const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
    client.on('data', (message: Buffer) => {
      if (watching) {
        const text = message.toString('latin1');
        if (watching.after.has(client) && watching.then.test(text)) {
          const { act } = watching;
          watching = null;
          if (act === 'break') {
            silenced.add(client); // its close is not passed on: the message goes on whole first
            upstream.end(message);
            client.destroy();
            return;
          }
          swallowing = true;
        } else if (watching.first.test(text)) watching.after.add(client);
      }
      if (!silenced.has(client)) upstream.write(message);
    });
    upstream.on('data', (answer: Buffer) => {
      if (!swallowing && !silenced.has(client) && !client.destroyed) client.write(answer);
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
    watching = null;
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
      watching = { first, then, after: new WeakSet(), act: 'swallow' };
    },
    breakAfter: (first, then) => {
      watching = { first, then, after: new WeakSet(), act: 'break' };
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

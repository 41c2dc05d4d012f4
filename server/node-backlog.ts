import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { type Connection, dropConnection, heldFor, takenByKernel, type Tcp } from './realtime/slow-readers.js';
import type { TaskFlowServer } from './realtime/types.js';

const WHY = 'dropped the connection holding the most while the node held more than NODE_BACKLOG_LIMIT';

/** A connection the node holds bytes for: a socket's, or an HTTP answer's. */
interface Holder {
  held: number;
  reading: boolean;
  drop(details: Record<string, number>): void;
}

/**
 * Drops the connections holding the most once the node as a whole holds more than
 * `totalLimitBytes` for its clients: every `everyMs`, what each socket's connection and each HTTP
 * answer being written hold for their clients (what waits for them, and what their TCP sockets
 * have not handed the kernel) are added up, and while the sum passes the limit the connection
 * holding the most is dropped, those that took nothing since the sweep before first.
 * `SOCKET_BACKLOG_LIMIT` bounds one socket's connection, an HTTP connection holds one answer, and
 * readers of nothing are dropped after a while, but none of that bounds how many such connections
 * there are: 40 sockets of one account, each asking for three snapshots of a 7.8 MB board and
 * reading none, held 964 MB of heap until their heartbeats lapsed, and accounts are as many as
 * sign-ups. A socket's client dropped here sees a lost transport, as at `SOCKET_BACKLOG_LIMIT`; an
 * HTTP client, its connection reset.
 */
export function shedBacklogs(
  io: TaskFlowServer,
  httpAnswers: ReadonlySet<ServerResponse>,
  totalLimitBytes: number,
  log: FastifyBaseLogger,
  everyMs = 1000,
): { stop(): void } {
  const takenAtSweep = new WeakMap<object, number>();
  /** Whether the kernel took some of what `tcp` holds since it was last seen holding, or it is seen holding for the first time. */
  function reading(key: object, tcp: Tcp | undefined): boolean {
    const taken = takenByKernel(tcp);
    if (taken === undefined) return false;
    const before = takenAtSweep.get(key);
    takenAtSweep.set(key, taken);
    return before === undefined || taken > before;
  }

  const timer = setInterval(() => {
    const holders: Holder[] = [];
    // engine.io's documented `clients` (its typings call it protected): its connections by id.
    for (const connection of Object.values((io.engine as unknown as { clients: Record<string, Connection> }).clients)) {
      const held = heldFor(connection);
      if (held === 0) continue; // most connections, every second: nothing more to read of them
      holders.push({
        held,
        reading: reading(connection, connection.transport.socket?._socket),
        drop: (details) => dropConnection(connection, log, WHY, details),
      });
    }
    for (const answer of httpAnswers) {
      const tcp = answer.socket as (Socket & Tcp) | null;
      const held = tcp?.writableLength ?? 0;
      if (!tcp || held === 0) continue;
      holders.push({
        held,
        reading: reading(tcp, tcp),
        drop: (details) => {
          log.warn({ address: tcp.remoteAddress, ...details }, WHY);
          tcp.destroy();
        },
      });
    }
    let total = holders.reduce((sum, holder) => sum + holder.held, 0);
    if (total <= totalLimitBytes) return;
    holders.sort((a, b) => Number(a.reading) - Number(b.reading) || b.held - a.held);
    for (const holder of holders) {
      if (total <= totalLimitBytes) break;
      holder.drop({ heldBytes: holder.held, nodeHeldBytes: total });
      total -= holder.held;
    }
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

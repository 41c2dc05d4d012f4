import type { IncomingMessage, ServerResponse } from 'node:http';
import { principalRoom } from './rooms.js';
import type { TaskFlowServer, TaskFlowSocket } from './types.js';

/** What the limit reads of an engine.io connection: its transport, and the WebSocket under it. */
interface Connection {
  id: string;
  transport: { name: string; socket?: PausableWebSocket };
  on(event: 'packet', listener: (packet: { data?: unknown }) => void): void;
  off(event: 'packet', listener: (packet: { data?: unknown }) => void): void;
}

/** `ws`'s WebSocket: `pause()` stops reading its TCP socket, `resume()` reads on (both do nothing once it is closed). */
interface PausableWebSocket {
  isPaused: boolean;
  pause(): void;
  resume(): void;
}

/**
 * Limits the bytes each account's sockets send the node to `bytesPerSecond` on average, in bursts
 * of up to twice that: a token bucket per account (user or API key), shared by its sockets on the
 * node, a token a byte. Nothing is refused: while the account is over, the node reads no more of
 * its connections, a WebSocket's (paused) nor a long-polling session's next POST (held before its
 * body is read), until the bucket is no longer overdrawn; what the client sent waits in its own
 * buffers, and is answered in its turn. What it bounds is the node's CPU: each byte costs the node
 * its reading, decoding and parsing however little the message holds (a message near 1 MiB,
 * 10–20 ms of a core), and the event limit counts messages, so one socket could take a core.
 *
 * A connection reads on past the limit by what it had read already: a WebSocket's last read (64
 * KiB, or the rest of one message), a POST. An account's bucket outlives its last socket until it
 * would have refilled, so that reconnecting starts no fresh burst. `bytesPerSecond` 0 turns the
 * limit off.
 */
export function limitSocketReads(io: TaskFlowServer, bytesPerSecond: number): ((socket: TaskFlowSocket) => void) | null {
  if (bytesPerSecond <= 0) return null;
  const budgets = new Map<string, ReadBudget>();
  const budgetOfSession = new Map<string, ReadBudget>();

  io.engine.use((request: IncomingMessage & { _query?: Record<string, string> }, _response: ServerResponse, next: () => void) => {
    const budget = request.method === 'POST' ? budgetOfSession.get(request._query?.sid ?? '') : undefined;
    if (budget === undefined) return next();
    budget.whenPaid(next);
  });

  return (socket) => {
    const account = principalRoom(socket.data.principal);
    const budget = budgets.get(account) ?? new ReadBudget(bytesPerSecond);
    budgets.set(account, budget);
    budget.sockets += 1;
    const connection = socket.conn as unknown as Connection;
    budgetOfSession.set(connection.id, budget);
    const spend = (packet: { data?: unknown }) => {
      budget.spend(sizeOf(packet.data));
      const webSocket = connection.transport.name === 'websocket' ? connection.transport.socket : undefined;
      if (webSocket && !webSocket.isPaused && budget.owes()) {
        webSocket.pause();
        budget.whenPaid(() => webSocket.resume());
      }
    };
    connection.on('packet', spend);
    socket.once('disconnect', () => {
      connection.off('packet', spend);
      budgetOfSession.delete(connection.id);
      budget.sockets -= 1;
      if (budget.sockets === 0)
        setTimeout(() => budget.sockets === 0 && budgets.get(account) === budget && budgets.delete(account), budget.msToFill()).unref();
    });
  };
}

/** A token bucket of `2 × perSecond` bytes that refills at `perSecond` a second, and may be overdrawn. */
class ReadBudget {
  sockets = 0;
  private tokens: number;
  private filledAt = performance.now();

  constructor(private readonly perSecond: number) {
    this.tokens = 2 * perSecond;
  }

  spend(bytes: number): void {
    this.refill();
    this.tokens -= bytes;
  }

  owes(): boolean {
    this.refill();
    return this.tokens < 0;
  }

  /** Calls `then` once the bucket is no longer overdrawn: at once if it is not. */
  whenPaid(then: () => void): void {
    if (!this.owes()) return then();
    setTimeout(() => this.whenPaid(then), Math.ceil((-this.tokens * 1000) / this.perSecond)).unref();
  }

  msToFill(): number {
    this.refill();
    return Math.ceil(((2 * this.perSecond - this.tokens) * 1000) / this.perSecond);
  }

  private refill(): void {
    const now = performance.now();
    this.tokens = Math.min(2 * this.perSecond, this.tokens + ((now - this.filledAt) * this.perSecond) / 1000);
    this.filledAt = now;
  }
}

function sizeOf(data: unknown): number {
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof ArrayBuffer || ArrayBuffer.isView(data)) return data.byteLength;
  return 0;
}

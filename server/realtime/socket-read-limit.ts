import type { IncomingMessage, ServerResponse } from 'node:http';
import { principalRoom } from './rooms.js';
import type { TaskFlowServer, TaskFlowSocket } from './types.js';

/** What the limit reads of an engine.io connection: its state, its transport, and the WebSocket under it. */
interface Connection {
  id: string;
  /** `closing` from the moment the node closes it. */
  readyState: string;
  transport: { name: string; socket?: PausableWebSocket };
  on(event: 'packet', listener: (packet: { data?: unknown }) => void): void;
  on(event: 'close', listener: () => void): void;
}

/** `ws`'s WebSocket: `pause()` stops reading its TCP socket, `resume()` reads on (both do nothing once it is closed). */
interface PausableWebSocket {
  pause(): void;
  resume(): void;
}

/**
 * What a packet costs beside its bytes: reading and handing on a packet, however small, costs the
 * node about what 30 bytes of one do (a long-polling POST of 500,000 empty packets took 300 ms of a
 * core, where 1 MB in one message takes 10–20 ms), so a flood of empty ones (noops, pongs) is
 * counted too.
 */
export const PACKET_COST = 64;

/** The limit of one node: `track` charges a socket's connection to its account, `stop` lets every connection be read again. */
export interface SocketReadLimit {
  track(socket: TaskFlowSocket): void;
  /** Reads every connection on, and holds none from now on: the node is stopping, and must read its clients' close handshakes. */
  stop(): void;
}

/**
 * Limits the bytes each account's connections send the node to `bytesPerSecond` on average, in
 * bursts of up to twice that: a token bucket per account (user or API key), shared by its
 * connections on the node, a token a byte and `PACKET_COST` more a packet. A connection with no
 * account yet (its handshake under way) has a bucket of its own; one whose socket is gone (a
 * revoked key's, say) stays its account's until it closes. Nothing is refused: while a bucket is
 * overdrawn, the node reads no more of its connections, a WebSocket's (paused) nor a long-polling
 * session's next POST (held before its body is read), until it no longer is; what the client sent
 * waits in its own buffers, and is answered in its turn. What it bounds is the node's CPU: each
 * byte costs the node its reading, decoding and parsing however little the message holds (a
 * message near 1 MiB, 10–20 ms of a core), and the event limit counts messages, so one socket
 * could take a core.
 *
 * A connection reads on past the limit by what it had read already: a WebSocket's last read (64
 * KiB, or the rest of one message), a POST. An account's bucket outlives its last connection until
 * it would have refilled, so that reconnecting starts no fresh burst. A connection the node closes
 * is read on, so that its client's close handshake is. `bytesPerSecond` 0 turns the limit off.
 */
export function limitSocketReads(io: TaskFlowServer, bytesPerSecond: number): SocketReadLimit | null {
  if (bytesPerSecond <= 0) return null;
  const accounts = new Map<string, ReadBudget>();
  /** Per open connection (its engine.io session id): the bucket it is charged to, and how to read it on. */
  const connections = new Map<string, { budget: ReadBudget; account: string | null; readOn(): void }>();
  /** What waits for its bucket to be paid: a paused WebSocket's resumption, a held POST's reading. */
  const waiting = new Set<() => void>();
  let stopped = false;

  const whenPaid = (budget: ReadBudget, then: () => void): void => {
    if (stopped || budget.msToPay() === 0) return then();
    waiting.add(then);
    setTimeout(() => waiting.delete(then) && whenPaid(budget, then), budget.msToPay()).unref();
  };

  io.engine.use((request: IncomingMessage & { _query?: Record<string, string> }, _response: ServerResponse, next: () => void) => {
    const charged = request.method === 'POST' ? connections.get(request._query?.sid ?? '') : undefined;
    if (charged === undefined) return next();
    whenPaid(charged.budget, next);
  });

  /** Takes a connection off its account's bucket, which is forgotten once it would have refilled, if no connection took it again. */
  const leaveAccount = (charged: { budget: ReadBudget; account: string | null }) => {
    const { budget, account } = charged;
    if (account === null || --budget.connections > 0) return;
    budget.forget = setTimeout(() => accounts.get(account) === budget && accounts.delete(account), budget.msToFill()).unref();
  };

  io.engine.on('connection', (connection: Connection) => {
    let resume: (() => void) | null = null;
    const readOn = () => {
      if (resume && waiting.delete(resume)) resume();
    };
    const charged = { budget: new ReadBudget(bytesPerSecond), account: null as string | null, readOn };
    connections.set(connection.id, charged);
    connection.on('packet', (packet) => {
      const owedMs = charged.budget.spend(PACKET_COST + sizeOf(packet.data));
      const webSocket = connection.transport.name === 'websocket' ? connection.transport.socket : undefined;
      if (owedMs === 0 || stopped || !webSocket || resume || connection.readyState !== 'open') return;
      webSocket.pause();
      resume = () => {
        resume = null;
        webSocket.resume();
      };
      whenPaid(charged.budget, resume);
    });
    connection.on('close', () => {
      readOn();
      connections.delete(connection.id);
      leaveAccount(charged);
    });
  });

  const track = (socket: TaskFlowSocket) => {
    const charged = connections.get((socket.conn as unknown as Connection).id);
    if (!charged) return;
    const account = principalRoom(socket.data.principal);
    const budget = accounts.get(account) ?? new ReadBudget(bytesPerSecond);
    accounts.set(account, budget);
    clearTimeout(budget.forget);
    budget.connections += 1;
    leaveAccount(charged); // a connection's second handshake, after its first socket was disconnected
    Object.assign(charged, { budget, account });
    // The node may be closing the connection: it reads on, as `readyState` then keeps it read.
    socket.once('disconnect', charged.readOn);
  };

  const stop = () => {
    stopped = true;
    for (const then of waiting) then();
    waiting.clear();
  };
  return { track, stop };
}

/** A token bucket of `2 × perSecond` bytes that refills at `perSecond` a second, and may be overdrawn. */
class ReadBudget {
  /** How many open connections are charged to it, as an account's; and, once none is, when it is forgotten. */
  connections = 0;
  forget?: NodeJS.Timeout;
  private tokens: number;
  private filledAt = performance.now();

  constructor(private readonly perSecond: number) {
    this.tokens = 2 * perSecond;
  }

  /** Takes `bytes` from the bucket; answers `msToPay` after. */
  spend(bytes: number): number {
    this.refill();
    this.tokens -= bytes;
    return this.owedMs();
  }

  /** How long until the bucket is no longer overdrawn: 0 if it is not. */
  msToPay(): number {
    this.refill();
    return this.owedMs();
  }

  private owedMs(): number {
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.perSecond);
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

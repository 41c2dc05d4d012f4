import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type {
  Ack,
  ClientToServerEvents,
  ColumnChangeData,
  ServerToClientEvents,
  TaskChangeData,
  TaskDeleteData,
} from '../shared/events.js';
import type {
  ColumnCreatePayload,
  ColumnDeletePayload,
  ColumnMovePayload,
  ColumnUpdatePayload,
  TaskCreatePayload,
  TaskDeletePayload,
  TaskMovePayload,
  TaskUpdatePayload,
} from '../shared/schemas.js';
import type { BoardEventJson, Viewer } from '../shared/wire.js';
import { BoardState } from './board-state.js';
import { Emitter } from './emitter.js';
import { TaskFlowError } from './errors.js';
import { type MutationEvent, MutationQueue, namedDelayMs } from './mutation-queue.js';

/** A user's token (or a function that returns a fresh one, asked at every connect), or a bot's API key. */
export type Credentials = { token: string | (() => string | Promise<string>) } | { apiKey: string };

export interface TaskFlowClientOptions {
  /**
   * The server, or several nodes of it: the client connects to the first, and after a disconnect
   * tries another one, picked at random, so that a stopped node's clients spread over the rest.
   */
  url: string | string[];
  credentials: Credentials;
  /**
   * How long to wait for the server's answer, to a mutation or to a connection's handshake (30 s
   * by default; the server answers within its `ANSWER_DEADLINE`, 20 s by default). A connection
   * that leaves an answer out longer counts as broken: the client drops it, reconnects (to another
   * node) and sends what is unacknowledged again, with the same `clientMutationId`.
   */
  ackTimeoutMs?: number;
  /** How long an event may wait for an earlier one before the board is resynced. */
  gapGraceMs?: number;
  /** The longest pause between reconnect attempts. */
  maxBackoffMs?: number;
  /**
   * How long the first attempt after a live connection dropped may wait, picked at random up to
   * this (2 s by default): a stopped node's clients then come back spread over that time, not
   * all in the same half second, which stalled the node they landed on for everyone there.
   */
  reconnectSpreadMs?: number;
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

/** `live`: connected and in sync; `reconnecting`: the connection is gone; `resyncing`: catching up. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'resyncing' | 'closed';

export type TaskFlowClientEvents = {
  state: (state: ConnectionState) => void;
  /** A board changed: after an event (its own or another's) or a resync. */
  board: (board: BoardState, event?: BoardEventJson) => void;
  presence: (projectId: string, viewers: Viewer[]) => void;
  org: (payload: Parameters<ServerToClientEvents['org:event']>[0]) => void;
  /**
   * The server revoked access: to an org (`removed`, `key_revoked`, `org_deleted`; the org's boards
   * are dropped), or the credential expired (`token_expired`, no org; with a token provider the
   * client reconnects with a fresh token by itself, so this is no loss of access), or the user's
   * sessions were ended (`signed_out`, no org: a password changed or reset, or the other sessions
   * signed out; the client reconnects with the provider's token, which the server refuses if it
   * was one of the ended sessions').
   */
  revoked: (payload: Parameters<ServerToClientEvents['access:revoked']>[0]) => void;
  /**
   * Something went wrong out of any caller's sight: a resync that failed (the client reconnects),
   * a board dropped because the server no longer shows it to this client (a `TaskFlowError`
   * FORBIDDEN or NOT_FOUND, e.g. after a removal from the org while disconnected), or a token
   * from the provider that was refused (UNAUTHORIZED; after five in a row the client closes).
   */
  error: (error: Error) => void;
};

/** A token provider whose tokens are refused this often in a row ends the client (closed, UNAUTHORIZED). */
const MAX_REFUSED_TOKENS = 5;

/** `board:join` refusals that mean the board is not this client's to see any more. */
const BOARD_GONE: ReadonlySet<string> = new Set(['FORBIDDEN', 'NOT_FOUND']);

/** Boards rejoined at once after a connect: the events of one account the server runs at once. */
const REJOINS_AT_ONCE = 4;

/** Runs `work` on each of `items`, at most `n` at a time; settles as `Promise.allSettled` does. */
async function atMost<T>(n: number, items: T[], work: (item: T) => Promise<void>): Promise<Array<PromiseSettledResult<void>>> {
  const results: Array<PromiseSettledResult<void>> = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) {
      try {
        await work(items[i]!);
        results[i] = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return results;
}

/** The delay a RATE_LIMITED answer names (at most 5 s), or a second. */
function retryAfterMs(error: TaskFlowError): number {
  return Math.min(namedDelayMs(error) ?? 1000, 5000);
}
type TypedSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * The TaskFlow SDK for browsers and Node: connects with a token or an API key, keeps local
 * boards that apply `board:event`s in `seq` order, resyncs after a reconnect or a gap, and sends
 * every mutation with a `clientMutationId`, retrying until it is acknowledged, so nothing
 * acknowledged is lost and nothing retried is doubled.
 */
export class TaskFlowClient extends Emitter<TaskFlowClientEvents> {
  state: ConnectionState = 'connecting';
  readonly boards = new Map<string, BoardState>();
  private readonly urls: string[];
  private readonly ackTimeoutMs: number;
  private readonly mutations: MutationQueue;
  private readonly presence = new Map<string, string | null>();
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Events for boards whose first `board:join` is still unanswered. */
  private readonly joining = new Map<string, BoardEventJson[]>();
  /** The first joins still under way, which later joins of the same board wait for. */
  private readonly firstJoins = new Map<string, Promise<BoardState>>();
  /** How many times each board was joined and not left (`leaveBoard`). */
  private readonly joins = new Map<string, number>();
  private socket: TypedSocket | null = null;
  private urlIndex = 0;
  private closed = false;
  private connecting?: Promise<void>;
  private firstConnect?: { resolve(): void; reject(error: Error): void };
  /** Ends the connect attempt or the pause the run loop is waiting in: `close()` calls it. */
  private wake?: () => void;

  constructor(private readonly options: TaskFlowClientOptions) {
    super();
    this.urls = Array.isArray(options.url) ? options.url : [options.url];
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.mutations = new MutationQueue({
      ackTimeoutMs: this.ackTimeoutMs,
      socket: () => (this.state === 'live' ? (this.socket as unknown as Socket | null) : null),
      acknowledged: (data) => {
        const event = (data as { event?: BoardEventJson | null }).event;
        if (event) this.receive(event);
      },
      broken: (socket) => socket.disconnect(),
    });
  }

  /**
   * Connects; resolves once live, rejects if the first handshake is refused (a fixed token or key)
   * or the client is closed first. Calling it again answers the same promise.
   */
  connect(): Promise<void> {
    // A client closed before it ever connected has nothing left to connect: it will not run again.
    if (this.closed && !this.connecting)
      this.connecting = Promise.reject(new TaskFlowError({ code: 'DISCONNECTED', message: 'the client was closed' }));
    this.connecting ??= new Promise((resolve, reject) => {
      this.firstConnect = { resolve, reject };
      void this.run();
    });
    return this.connecting;
  }

  /**
   * Joins a board and keeps it in sync from then on. The server puts the socket in the board's
   * room before it reads the board, so events may arrive ahead of the answer: they are kept and
   * applied on top of it (those the snapshot already counts are dropped by their `seq`).
   */
  async joinBoard(projectId: string): Promise<BoardState> {
    this.joins.set(projectId, (this.joins.get(projectId) ?? 0) + 1);
    try {
      return await this.join(projectId);
    } catch (error) {
      this.leftOnce(projectId);
      throw error;
    }
  }

  /**
   * Leaves a board. Joins are counted: a board joined twice (a screen closed and opened again
   * before its first join was answered, whose late leave then comes after the second join) stays
   * joined until it is left twice. A board left before its join was answered is not kept: that
   * join answers the board as it was read, not kept in sync, and a join after the leave asks the
   * server afresh.
   */
  async leaveBoard(projectId: string): Promise<void> {
    if (this.leftOnce(projectId) > 0) return;
    this.dropBoard(projectId);
    this.firstJoins.delete(projectId);
    await this.request('board:leave', { projectId });
  }

  /** Counts one join of the board as left; answers how many are left standing. */
  private leftOnce(projectId: string): number {
    const standing = Math.max(0, (this.joins.get(projectId) ?? 0) - 1);
    if (standing === 0) this.joins.delete(projectId);
    else this.joins.set(projectId, standing);
    return standing;
  }

  /**
   * The board, joined once however many screens ask: a board already held, or being joined, is
   * answered with the same `BoardState`, which this client keeps in sync. (A second join that
   * replaced it left the first screen's copy behind, and could miss an event that came between
   * the second snapshot's read and its answer.)
   */
  private join(projectId: string): Promise<BoardState> {
    const held = this.boards.get(projectId);
    if (held) return Promise.resolve(held);
    let joining = this.firstJoins.get(projectId);
    if (!joining) {
      const attempt: Promise<BoardState> = this.firstJoin(projectId, () => this.firstJoins.get(projectId) === attempt).finally(() => {
        if (this.firstJoins.get(projectId) === attempt) this.firstJoins.delete(projectId);
      });
      this.firstJoins.set(projectId, (joining = attempt));
    }
    return joining;
  }

  /** `current`: whether the board was not left since this join began (`leaveBoard`). */
  private async firstJoin(projectId: string, current: () => boolean): Promise<BoardState> {
    await this.whenLive();
    const early: BoardEventJson[] = [];
    this.joining.set(projectId, early);
    let answer: AckData<'board:join'>;
    try {
      answer = await this.request('board:join', { projectId });
    } finally {
      if (this.joining.get(projectId) === early) this.joining.delete(projectId);
    }
    if ('events' in answer) throw new Error('unexpected replay for a first join');
    const board = new BoardState(answer);
    for (const event of early) board.receive(event);
    if (!current()) {
      // Left while this join was under way. Should its leave have reached the server first (it
      // was sent while offline, say), the socket stands in the room now: leave again, unless the
      // board was joined anew since, whose own join came after the leave.
      if (!this.joins.has(projectId)) void this.request('board:leave', { projectId }).catch(() => undefined);
      return board;
    }
    this.boards.set(projectId, board);
    this.emit('board', board);
    if (board.gap) this.watchGap(projectId);
    return board;
  }

  /**
   * Says which task this client is editing on a joined board (null: none); said again after a
   * reconnect. On a board it has not joined (or has left) it does nothing.
   */
  async setPresence(projectId: string, editingTaskId: string | null): Promise<void> {
    if (!this.boards.has(projectId)) return;
    this.presence.set(projectId, editingTaskId);
    await this.request('presence:update', { projectId, editingTaskId });
  }

  createTask = (input: Omit<TaskCreatePayload, 'clientMutationId'>) => this.mutate<TaskChangeData>('task:create', input);
  updateTask = (input: Omit<TaskUpdatePayload, 'clientMutationId'>) => this.mutate<TaskChangeData>('task:update', input);
  moveTask = (input: Omit<TaskMovePayload, 'clientMutationId'>) => this.mutate<TaskChangeData>('task:move', input);
  deleteTask = (input: Omit<TaskDeletePayload, 'clientMutationId'>) => this.mutate<TaskDeleteData>('task:delete', input);
  createColumn = (input: Omit<ColumnCreatePayload, 'clientMutationId'>) => this.mutate<ColumnChangeData>('column:create', input);
  updateColumn = (input: Omit<ColumnUpdatePayload, 'clientMutationId'>) => this.mutate<ColumnChangeData>('column:update', input);
  moveColumn = (input: Omit<ColumnMovePayload, 'clientMutationId'>) => this.mutate<ColumnChangeData>('column:move', input);
  deleteColumn = (input: Omit<ColumnDeletePayload, 'clientMutationId'>) => this.mutate<ColumnChangeData>('column:delete', input);

  /** Mutations sent but not yet acknowledged. */
  get unacknowledged(): number {
    return this.mutations.size;
  }

  /** Disconnects for good: a pending `connect()` and every unacknowledged mutation reject with DISCONNECTED. */
  close(): void {
    this.shutdown(new TaskFlowError({ code: 'DISCONNECTED', message: 'the client was closed' }));
  }

  /** Resolves once the client is live (at once if it is); rejects if it closes first. */
  private whenLive(): Promise<void> {
    if (this.state === 'live') return Promise.resolve();
    if (this.closed) return Promise.reject(new TaskFlowError({ code: 'DISCONNECTED', message: 'the client was closed' }));
    return new Promise((resolve, reject) => {
      const stop = this.on('state', (state) => {
        if (state !== 'live' && state !== 'closed') return;
        stop();
        if (state === 'live') resolve();
        else reject(new TaskFlowError({ code: 'DISCONNECTED', message: 'the client was closed' }));
      });
    });
  }

  // --- connection -------------------------------------------------------------------------

  private async run(): Promise<void> {
    let failures = 0;
    let refusedInARow = 0;
    while (!this.closed) {
      const socket = this.open(this.urls[this.urlIndex]!);
      const refusal = await new Promise<Error | null>((resolve) => {
        // A handshake left unanswered past `ackTimeoutMs` (a node frozen in it) is a failed attempt.
        const timer = setTimeout(() => settle(new Error('no answer to the handshake in time')), this.ackTimeoutMs);
        const settle = (answer: Error | null) => {
          clearTimeout(timer);
          resolve(answer);
        };
        socket.once('connect', () => settle(null));
        socket.once('connect_error', (error) => settle(error));
        // So is a connection that closes after it opened and before the server answered the
        // handshake (its node killed, the network cut): socket.io says only `disconnect` then.
        socket.once('disconnect', () => settle(new Error('the connection closed during the handshake')));
        this.wake = () => settle(null); // closed while connecting: a closed socket says nothing more
      });
      this.wake = undefined;
      if (this.closed) {
        socket.close();
        return;
      }
      if (refusal) {
        socket.close();
        if (refusal.message === 'UNAUTHORIZED') {
          // A fixed credential is refused for good; a token provider may still find a good one:
          // each refusal is told, and after a few in a row the client gives up.
          const refused = new TaskFlowError({ code: 'UNAUTHORIZED', message: 'the credentials were refused' });
          const provider = typeof (this.options.credentials as { token?: unknown }).token === 'function';
          if (!provider || (refusedInARow += 1) >= MAX_REFUSED_TOKENS) return this.fail(refused);
          this.emit('error', refused);
        }
        this.moveToAnotherNode();
        failures += 1;
        await this.pause(failures);
        continue;
      }
      refusedInARow = 0;
      const disconnected = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
      const wentLive = await this.resync(socket);
      await disconnected;
      if (this.closed) return;
      this.setState('reconnecting');
      this.moveToAnotherNode();
      // A connection that never got back in sync counts as a failure, so a node that keeps
      // refusing the resync is not asked again at once.
      failures = wentLive ? 1 : failures + 1;
      await (wentLive ? this.wait(Math.random() * (this.options.reconnectSpreadMs ?? 2000)) : this.pause(failures));
    }
  }

  private open(url: string): TypedSocket {
    const credentials = this.options.credentials;
    const socket: TypedSocket = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      ...this.options.socketOptions,
      auth: (callback) => {
        if ('apiKey' in credentials) return callback({ apiKey: credentials.apiKey });
        Promise.resolve(typeof credentials.token === 'function' ? credentials.token() : credentials.token).then(
          (token) => callback({ token }),
          () => callback({ token: '' }),
        );
      },
    });
    socket.on('board:event', (event) => this.receive(event));
    socket.on('presence:changed', ({ projectId, viewers }) => this.emit('presence', projectId, viewers));
    socket.on('org:event', (payload) => this.emit('org', payload));
    socket.on('access:revoked', (payload) => {
      if (payload.orgId) for (const [id, board] of this.boards) if (board.project.orgId === payload.orgId) this.dropBoard(id);
      this.emit('revoked', payload);
    });
    this.socket = socket;
    return socket;
  }

  /**
   * After every connect: rejoin each board from its last `seq`, say presence again, resend what
   * is unacknowledged. Answers whether the client went live on this socket.
   */
  private async resync(socket: TypedSocket): Promise<boolean> {
    this.setState('resyncing');
    // A few at a time, as the server runs an account's events (more would be refused RATE_LIMITED).
    const rejoined = await atMost(REJOINS_AT_ONCE, [...this.boards.keys()], (projectId) => this.resyncBoard(projectId));
    const failure = rejoined.find((result) => result.status === 'rejected');
    if (this.closed) return false;
    if (failure) {
      this.emit('error', (failure as PromiseRejectedResult).reason as Error);
      if (socket.connected) socket.disconnect(); // try again on a fresh connection
      return false;
    }
    if (!socket.connected) return false;
    // Said again a few at a time, each refused one again after the delay it names: all at once,
    // those past the socket's burst were refused, and a socket refused again and again is dropped
    // (its next resync then refused the same way, for good).
    void atMost(REJOINS_AT_ONCE, [...this.presence.keys()], async (projectId) => {
      if (this.socket !== socket || !this.presence.has(projectId)) return; // reconnected since, or left
      await this.evenIfLimited(() => this.request('presence:update', { projectId, editingTaskId: this.presence.get(projectId) ?? null }));
    });
    this.setState('live');
    this.firstConnect?.resolve();
    this.firstConnect = undefined;
    this.mutations.resume();
    return true;
  }

  /**
   * Catches a board up from its last `seq`. A board the server no longer shows this client (it
   * was removed from the org, or the board is gone) is dropped, with an `error`, instead of
   * failing every reconnect from then on.
   */
  private async resyncBoard(projectId: string): Promise<void> {
    const board = this.boards.get(projectId);
    if (!board) return;
    let answer: AckData<'board:join'>;
    try {
      answer = await this.evenIfLimited(() => this.request('board:join', { projectId, sinceSeq: board.seq }));
    } catch (error) {
      if (!(error instanceof TaskFlowError) || !BOARD_GONE.has(error.code)) throw error;
      this.dropBoard(projectId);
      this.emit('error', error);
      return;
    }
    if (this.boards.get(projectId) !== board) return; // left or dropped meanwhile
    board.sync(answer);
    this.emit('board', board);
  }

  /** `send`'s answer; over the socket's rate, sent again on this connection after the delay the refusal names. */
  private async evenIfLimited<T>(send: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await send();
      } catch (error) {
        if (!(error instanceof TaskFlowError && error.code === 'RATE_LIMITED') || this.closed) throw error;
        await new Promise((resolve) => setTimeout(resolve, retryAfterMs(error)));
      }
    }
  }

  private dropBoard(projectId: string): void {
    this.boards.delete(projectId);
    this.joins.delete(projectId);
    this.presence.delete(projectId);
    clearTimeout(this.gapTimers.get(projectId));
    this.gapTimers.delete(projectId);
  }

  /** The credentials were refused for good: close, and tell whoever waits why. */
  private fail(error: TaskFlowError): void {
    this.shutdown(error);
    this.emit('error', error);
  }

  private shutdown(reason: TaskFlowError): void {
    this.closed = true;
    this.setState('closed');
    this.socket?.close();
    this.wake?.();
    this.firstConnect?.reject(reason);
    this.firstConnect = undefined;
    for (const timer of this.gapTimers.values()) clearTimeout(timer);
    this.gapTimers.clear();
    this.mutations.rejectAll(reason);
  }

  /** Waits before the next connect attempt, with jitter; `close()` ends the wait at once. */
  private pause(failures: number): Promise<void> {
    const ceiling = Math.min(this.options.maxBackoffMs ?? 5000, 100 * 2 ** Math.min(failures, 10));
    return this.wait(ceiling / 2 + Math.random() * (ceiling / 2));
  }

  /** Waits `ms`; `close()` ends the wait at once. */
  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  /** Another of the nodes, at random; the one there is where there is one. */
  private moveToAnotherNode(): void {
    if (this.urls.length > 1) this.urlIndex = (this.urlIndex + 1 + Math.floor(Math.random() * (this.urls.length - 1))) % this.urls.length;
  }

  private setState(state: ConnectionState): void {
    if (this.state === state || (this.state === 'closed' && state !== 'closed')) return;
    this.state = state;
    this.emit('state', state);
  }

  // --- boards -------------------------------------------------------------------------------

  private receive(event: BoardEventJson): void {
    const board = this.boards.get(event.projectId);
    if (!board) {
      this.joining.get(event.projectId)?.push(event);
      return;
    }
    if (board.receive(event)) this.emit('board', board, event);
    if (board.gap) this.watchGap(event.projectId);
  }

  /**
   * An event that waits too long for an earlier one means the earlier one was lost: resync. While
   * the client resyncs, the board may have been rejoined already, so it is watched again until the
   * client is live; while it reconnects, the reconnect's resync rejoins it anyway.
   */
  private watchGap(projectId: string): void {
    if (this.gapTimers.has(projectId)) return;
    const timer = setTimeout(() => {
      this.gapTimers.delete(projectId);
      if (!this.boards.get(projectId)?.gap) return;
      if (this.state === 'resyncing') return this.watchGap(projectId);
      if (this.state !== 'live') return;
      this.resyncBoard(projectId).then(
        () => undefined,
        (error: Error) => {
          this.emit('error', error);
          if (this.boards.get(projectId)?.gap) this.watchGap(projectId); // try again; a reconnect resyncs too
        },
      );
    }, this.options.gapGraceMs ?? 300);
    this.gapTimers.set(projectId, timer);
  }

  // --- requests and mutations ---------------------------------------------------------------

  private async request<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<AckData<E>> {
    const socket = this.socket;
    if (!socket?.connected) throw new TaskFlowError({ code: 'DISCONNECTED', message: 'not connected' });
    let answer: Ack<AckData<E>>;
    try {
      answer = (await (socket as unknown as Socket).timeout(this.ackTimeoutMs).emitWithAck(event, payload)) as Ack<AckData<E>>;
    } catch {
      // The connection dropped before the answer, or hung: drop it, and the client reconnects.
      if (socket.connected) socket.disconnect();
      throw new TaskFlowError({ code: 'DISCONNECTED', message: 'the connection was lost before the answer' });
    }
    if (!answer.ok) throw new TaskFlowError(answer.error);
    return answer.data;
  }

  private mutate<T>(event: MutationEvent, input: object): Promise<T> {
    if (this.closed) return Promise.reject(new TaskFlowError({ code: 'DISCONNECTED', message: 'the client was closed' }));
    return this.mutations.add<T>(event, input);
  }
}

type AckData<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[1] extends (answer: Ack<infer D>) => void
  ? D
  : never;

import { io, type Socket } from 'socket.io-client';
import type {
  Ack,
  AckData,
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
import type { BoardEventJson } from '../shared/wire.js';
import type { BoardState } from './board-state.js';
import { hasPath, noServerAt } from './addresses.js';
import type { ConnectionState, TaskFlowClientEvents, TaskFlowClientOptions } from './client-options.js';
import { Emitter } from './emitter.js';
import { TaskFlowError } from './errors.js';
import { JoinedBoards } from './joined-boards.js';
import { type MutationEvent, MutationQueue, type UnacknowledgedChange } from './mutation-queue.js';
import { Pauses } from './pauses.js';
import { Turns } from './turns.js';

/** A token provider whose tokens are refused this often in a row ends the client (closed, UNAUTHORIZED). */
const MAX_REFUSED_TOKENS = 5;

/** A live connection that dropped sooner than this counts as a failed attempt (the next waits longer). */
const LASTED_MS = 10_000;

/** Board requests (joins, leaves, presence) under way at once: the events of one account the server runs at once. */
const BOARD_REQUESTS_AT_ONCE = 4;

/** The delay a RATE_LIMITED answer names (at most 5 s), or a second. */
function retryAfterMs(error: TaskFlowError): number {
  return Math.min(error.retryAfterMs ?? 1000, 5000);
}
type TypedSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

/**
 * The TaskFlow SDK for browsers and Node: connects with a token or an API key, keeps local
 * boards that apply `board:event`s in `seq` order, resyncs after a reconnect or a gap, and sends
 * every mutation with a `clientMutationId`, retrying until it is acknowledged, so nothing
 * acknowledged is lost and nothing retried is doubled.
 */
export class TaskFlowClient extends Emitter<TaskFlowClientEvents> {
  private current: ConnectionState = 'connecting';
  private readonly urls: string[];
  private readonly ackTimeoutMs: number;
  /** The longest pause between reconnect attempts, and between a board's gap resyncs that failed. */
  private readonly maxBackoffMs: number;
  private readonly mutations: MutationQueue;
  private readonly joined: JoinedBoards;
  /** The waits after RATE_LIMITED board requests, ended at once by `close()`. */
  private readonly limitedPauses = new Pauses();
  private readonly boardTurns = new Turns(BOARD_REQUESTS_AT_ONCE);
  private socket: TypedSocket | null = null;
  private urlIndex = 0;
  /** Why the client closed: `close()`, or credentials refused for good; what it answers from then on. */
  private closedBy: TaskFlowError | null = null;
  private connecting?: Promise<void>;
  private firstConnect?: { resolve(): void; reject(error: Error): void };
  /** Ends the connect attempt or the pause the run loop is waiting in: `close()` calls it. */
  private wake?: () => void;

  /** The connection's state now; `state` events tell each change. */
  get state(): ConnectionState {
    return this.current;
  }

  /** The boards joined and kept in sync, by project id. */
  get boards(): ReadonlyMap<string, BoardState> {
    return this.joined.held;
  }

  constructor(private readonly options: TaskFlowClientOptions) {
    super();
    this.urls = Array.isArray(options.url) ? options.url : [options.url];
    // Refused here, before any attempt: one such node among several would otherwise end a client
    // that was live on the others, whenever a reconnect happened to pick it.
    const withPath = this.urls.find(hasPath);
    if (withPath !== undefined) throw noServerAt(withPath);
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.mutations = new MutationQueue({
      ackTimeoutMs: this.ackTimeoutMs,
      socket: () => (this.state === 'live' ? (this.socket as unknown as Socket | null) : null),
      acknowledged: (data) => {
        const event = (data as { event?: BoardEventJson | null }).event;
        if (event) this.joined.receive(event);
      },
      broken: (socket) => socket.disconnect(),
      resized: (size) => this.emit('unacknowledged', size),
    });
    this.joined = new JoinedBoards({
      inTurn: (send) => this.inTurn(send),
      request: (event, payload) => this.request(event, payload),
      whenLive: () => this.whenLive(),
      state: () => this.state,
      changed: (...change) => this.emit('board', ...change),
      failed: (error) => this.emit('error', error),
      gapGraceMs: options.gapGraceMs ?? 300,
      maxBackoffMs: this.maxBackoffMs,
    });
  }

  /**
   * Connects; resolves once live, rejects if the first handshake is refused (a fixed token or key)
   * or the client is closed first. Calling it again answers the same promise while the client
   * runs; once it is closed (by `close()`, or by its credentials refused for good), it rejects
   * with why, as everything asked of a closed client does: it never runs again.
   */
  connect(): Promise<void> {
    if (this.closedBy) return Promise.reject(this.closedBy);
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
    if (this.closedBy) throw this.closedBy;
    return this.joined.join(projectId);
  }

  /**
   * Leaves a board. Joins are counted: a board joined twice (a screen closed and opened again
   * before its first join was answered, whose late leave then comes after the second join) stays
   * joined until it is left twice. A board left before its join was answered is not kept: that
   * join answers the board as it was read, not kept in sync, and a join after the leave asks the
   * server afresh. A leave refused RATE_LIMITED is sent again after the delay it names, unless the
   * board was joined again meanwhile. A board dropped (`error` FORBIDDEN or NOT_FOUND, or access
   * revoked) still counts its joins: leave it once for each, as with a board held, or a later join
   * of it is never left.
   */
  leaveBoard(projectId: string): Promise<void> {
    return this.joined.leave(projectId);
  }

  /**
   * Says which task this client is editing on a joined board (null: none); said again after a
   * reconnect. On a board it has not joined (or has left) it does nothing. One refused
   * RATE_LIMITED is sent again after the delay it names, unless a later one was set meanwhile.
   */
  setPresence(projectId: string, editingTaskId: string | null): Promise<void> {
    return this.joined.setPresence(projectId, editingTaskId);
  }

  createTask = (input: Omit<TaskCreatePayload, 'clientMutationId'>) => this.mutate<TaskChangeData>('task:create', input);
  updateTask = (input: Omit<TaskUpdatePayload, 'clientMutationId'>) => this.mutate<TaskChangeData>('task:update', input);
  moveTask = (input: Omit<TaskMovePayload, 'clientMutationId'>) => this.mutate<TaskChangeData>('task:move', input);
  deleteTask = (input: Omit<TaskDeletePayload, 'clientMutationId'>) => this.mutate<TaskDeleteData>('task:delete', input);
  createColumn = (input: Omit<ColumnCreatePayload, 'clientMutationId'>) => this.mutate<ColumnChangeData>('column:create', input);
  updateColumn = (input: Omit<ColumnUpdatePayload, 'clientMutationId'>) => this.mutate<ColumnChangeData>('column:update', input);
  moveColumn = (input: Omit<ColumnMovePayload, 'clientMutationId'>) => this.mutate<ColumnChangeData>('column:move', input);
  deleteColumn = (input: Omit<ColumnDeletePayload, 'clientMutationId'>) => this.mutate<ColumnChangeData>('column:delete', input);

  /** Mutations waiting for the server's answer: sent, or to be sent once the connection is back. */
  get unacknowledged(): number {
    return this.mutations.size;
  }

  /**
   * The cards of a board being created: its `task:create`s not yet acknowledged, in the order they
   * were made (each with its `clientMutationId`). The board state holds a card once the server has
   * answered; until then, a user interface can show these as on their way (`unacknowledged` tells
   * each change).
   */
  tasksBeingCreated(projectId: string): TaskCreatePayload[] {
    return (this.mutations.payloadsOf('task:create') as TaskCreatePayload[]).filter((payload) => payload.projectId === projectId);
  }

  /**
   * Takes the mutations not yet acknowledged out of this client, in the order they were made, their
   * promises unsettled, for another client of the same user or key to send (`sendAgain`): a page
   * signed out while changes waited, say, whose user signs in again. Close this one after.
   */
  handOver(): UnacknowledgedChange[] {
    return this.mutations.handOver();
  }

  /**
   * Sends mutations another client handed over (`handOver`), after those this one holds, each with
   * its own `clientMutationId` (one that reached the server already is answered its result, not
   * applied again), and settles the promises they were made with by their answers.
   */
  sendAgain(changes: UnacknowledgedChange[]): void {
    if (this.closedBy) for (const change of changes) change.reject(this.closedBy);
    else this.mutations.adopt(changes);
  }

  /** Disconnects for good: a pending `connect()` and every unacknowledged mutation reject with DISCONNECTED. */
  close(): void {
    this.shutdown(new TaskFlowError({ code: 'DISCONNECTED', message: 'the client was closed' }));
  }

  /**
   * A listener that threw, or an async one that rejected: its error goes to the `error`
   * listeners, where there are any, so that a bot that logs them runs on; else it is thrown again
   * on a timer (in Node, an uncaught exception).
   */
  protected override listenerFailed(error: unknown, event: keyof TaskFlowClientEvents): void {
    if (event !== 'error' && this.listens('error')) this.emit('error', error instanceof Error ? error : new Error(String(error)));
    else super.listenerFailed(error, event);
  }

  private get closed(): boolean {
    return this.closedBy !== null;
  }

  /** Resolves once the client is live (at once if it is); rejects if it closes first. */
  private whenLive(): Promise<void> {
    if (this.state === 'live') return Promise.resolve();
    if (this.closedBy) return Promise.reject(this.closedBy);
    return new Promise((resolve, reject) => {
      const stop = this.on('state', (state) => {
        if (state !== 'live' && state !== 'closed') return;
        stop();
        if (state === 'live') resolve();
        else reject(this.closedBy);
      });
    });
  }

  // --- connection -------------------------------------------------------------------------

  private async run(): Promise<void> {
    let failures = 0;
    let refusedInARow = 0;
    while (!this.closed) {
      const socket = this.open(this.urls[this.urlIndex]!);
      // Listened for from the start: a server that drops the connection as it lets it in may send
      // both in one read, and the disconnect then comes before the code after the handshake runs.
      const disconnected = new Promise<void>((resolve) => socket.once('disconnect', () => resolve()));
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
        // An address socket.io completed (a path alone, in a page) whose path is a namespace the
        // server has not: no later attempt can go otherwise, so the client ends at once.
        if (refusal.message === 'Invalid namespace') return this.fail(noServerAt(this.urls[this.urlIndex]!));
        if (refusal.message === 'UNAUTHORIZED') {
          // A fixed credential is refused for good; a token provider may still find a good one:
          // each refusal is told, and after a few in a row the client gives up.
          const why = (refusal as Error & { data?: { message?: unknown } }).data?.message;
          const refused = new TaskFlowError({
            code: 'UNAUTHORIZED',
            message: typeof why === 'string' ? `the credentials were refused: ${why}` : 'the credentials were refused',
          });
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
      const wentLive = await this.resync(socket);
      const liveAt = Date.now();
      await disconnected;
      if (this.closed) return;
      this.setState('reconnecting');
      this.moveToAnotherNode();
      // A connection that never got back in sync, or that dropped soon after it did, counts as a
      // failure, so that a node that keeps refusing the resync, or lets clients in and drops them,
      // is not asked again at once, nor made to send every board afresh every second.
      const lasted = wentLive && Date.now() - liveAt >= LASTED_MS;
      failures = lasted ? 1 : failures + 1;
      const spread = wentLive ? Math.random() * (this.options.reconnectSpreadMs ?? 2000) : 0;
      await (lasted ? this.wait(spread) : this.pause(failures, spread));
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
        // A provider that throws counts as one that rejects: a refused token, not an uncaught exception.
        new Promise<string>((resolve) => resolve(typeof credentials.token === 'function' ? credentials.token() : credentials.token)).then(
          (token) => callback({ token }),
          () => callback({ token: '' }),
        );
      },
    });
    socket.on('board:event', (event) => this.joined.receive(event));
    socket.on('presence:changed', ({ projectId, viewers }) => this.emit('presence', projectId, viewers));
    socket.on('org:event', (payload) => this.emit('org', payload));
    socket.on('access:revoked', (payload) => {
      if (payload.orgId) this.joined.revokeOrg(payload.orgId);
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
    const failure = await this.joined.resync();
    if (this.closed) return false;
    if (failure) {
      this.emit('error', failure);
      if (socket.connected) socket.disconnect(); // try again on a fresh connection
      return false;
    }
    if (!socket.connected) return false;
    this.joined.sayPresenceAgain(() => this.socket === socket);

    this.setState('live');
    this.firstConnect?.resolve();
    this.firstConnect = undefined;
    this.mutations.resume();
    return true;
  }

  /**
   * A board request (a join, a leave, a presence) in its turn: at most `BOARD_REQUESTS_AT_ONCE`
   * under way, as the server runs an account's events, and one refused RATE_LIMITED sent again
   * after the delay it names, keeping its turn meanwhile. However many boards are joined or left
   * at once (after a reconnect, or by the app), the socket is then refused about four times as often
   * as the rate lets one through, under the ten times past which the server drops a socket.
   */
  private inTurn<T>(send: () => Promise<T>): Promise<T> {
    return this.boardTurns.run(() => this.evenIfLimited(send));
  }

  /** `send`'s answer; over the socket's rate, sent again on this connection after the delay the refusal names. */
  private async evenIfLimited<T>(send: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await send();
      } catch (error) {
        if (!(error instanceof TaskFlowError && error.code === 'RATE_LIMITED') || this.closed) throw error;
        await this.limitedPauses.wait(retryAfterMs(error));
      }
    }
  }

  /** The credentials were refused for good: close, and tell whoever waits why. */
  private fail(error: TaskFlowError): void {
    this.shutdown(error);
    this.emit('error', error);
  }

  private shutdown(reason: TaskFlowError): void {
    this.closedBy ??= reason;
    this.setState('closed');
    this.socket?.close();
    this.wake?.();
    this.firstConnect?.reject(reason);
    this.firstConnect = undefined;
    this.joined.stop();
    this.limitedPauses.endAll(); // their requests then find the client closed
    this.mutations.rejectAll(reason);
  }

  /** Waits before the next connect attempt, with jitter, `atLeast` ms at least; `close()` ends the wait at once. */
  private pause(failures: number, atLeast = 0): Promise<void> {
    const ceiling = Math.min(this.maxBackoffMs, 100 * 2 ** Math.min(failures, 10));
    return this.wait(Math.max(atLeast, ceiling / 2 + Math.random() * (ceiling / 2)));
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
    if (this.current === state || (this.current === 'closed' && state !== 'closed')) return;
    this.current = state;
    this.emit('state', state);
  }

  // --- requests and mutations ---------------------------------------------------------------

  private async request<E extends keyof ClientToServerEvents>(
    event: E,
    payload: Parameters<ClientToServerEvents[E]>[0],
  ): Promise<AckData<E>> {
    if (this.closedBy) throw this.closedBy;
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
    if (this.closedBy) return Promise.reject(this.closedBy);
    return this.mutations.add<T>(event, input);
  }
}

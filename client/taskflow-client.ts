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
import type { BoardEvent, BoardEventJson, Viewer } from '../shared/wire.js';
import { BoardState } from './board-state.js';
import { Emitter } from './emitter.js';
import { TaskFlowError } from './errors.js';
import { type MutationEvent, MutationQueue, type UnacknowledgedChange } from './mutation-queue.js';
import { Pauses } from './pauses.js';
import { Turns } from './turns.js';

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
  /**
   * A board changed: once for each event applied to it (this client's own or another's), in `seq`
   * order, each once, also for those caught up after a reconnect or a gap; `board` is the board
   * as it stands then, which may hold later events already. With no event when the board was read
   * afresh: as it was joined, or as a resync found it when the server's log no longer held every
   * event missed (a long absence): look at the whole board then.
   */
  board: (board: BoardState, event?: BoardEvent) => void;
  presence: (projectId: string, viewers: Viewer[]) => void;
  /**
   * How many mutations wait for the server's answer (`unacknowledged`), each time that changes:
   * those made while the connection is away wait for it, and are lost if the page or process goes
   * first (a page can warn before it is left while any wait).
   */
  unacknowledged: (count: number) => void;
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
   * FORBIDDEN or NOT_FOUND, e.g. after a removal from the org while disconnected; its joins still
   * count, each to be left with `leaveBoard`), or a token
   * from the provider that was refused (UNAUTHORIZED; after five in a row the client closes).
   */
  error: (error: Error) => void;
};

/** A token provider whose tokens are refused this often in a row ends the client (closed, UNAUTHORIZED). */
const MAX_REFUSED_TOKENS = 5;

/** `board:join` refusals that mean the board is not this client's to see any more. */
const BOARD_GONE: ReadonlySet<string> = new Set(['FORBIDDEN', 'NOT_FOUND']);

/** A live connection that dropped sooner than this counts as a failed attempt (the next waits longer). */
const LASTED_MS = 10_000;

/** Board requests (joins, leaves, presence) under way at once: the events of one account the server runs at once. */
const BOARD_REQUESTS_AT_ONCE = 4;

/**
 * Why an address cannot reach the server (`NOT_FOUND`): it has a path (the HTTP API's `/api/v1`,
 * say), which socket.io reads as a namespace, and the server has none but its root. Named by its
 * origin and path only: what else it holds (a password, a query) stays out of the message.
 */
function noServerAt(url: string): TaskFlowError {
  let where = 'that address';
  let instead = '';
  try {
    const { origin, pathname } = new URL(url);
    if (origin !== 'null') [where, instead] = [`${origin}${pathname}`, ` (${origin})`];
  } catch {
    // an address socket.io completes (a path alone, in a page): named by its path, as the page's origin reads it
  }
  return new TaskFlowError({
    code: 'NOT_FOUND',
    message: `no TaskFlow socket server at ${where}: give the server's address without a path${instead}; socket.io reads a path as a namespace`,
  });
}

/** Whether an address names a path past its origin's root (one socket.io-client would complete, a path alone, is judged by the server). */
function hasPath(url: string): boolean {
  try {
    const { origin, pathname } = new URL(url);
    return origin !== 'null' && pathname !== '/' && pathname !== '';
  } catch {
    return false;
  }
}

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
  /** The boards joined and kept in sync, by project id. */
  private readonly held = new Map<string, BoardState>();
  private readonly urls: string[];
  private readonly ackTimeoutMs: number;
  private readonly mutations: MutationQueue;
  private readonly presence = new Map<string, string | null>();
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Access revocations heard (`access:revoked` naming an org), and the count at each org's latest. */
  private revocations = 0;
  private readonly orgRevocations = new Map<string, number>();
  /** The waits after RATE_LIMITED board requests, ended at once by `close()`. */
  private readonly limitedPauses = new Pauses();
  /** Boards whose gap resyncs failed, and how many times in a row (`watchGap`). */
  private readonly gapResyncsFailed = new Map<string, number>();
  private readonly boardTurns = new Turns(BOARD_REQUESTS_AT_ONCE);
  /** Events for boards whose first `board:join` is still unanswered. */
  private readonly joining = new Map<string, BoardEventJson[]>();
  /** The first joins still under way, which later joins of the same board wait for. */
  private readonly firstJoins = new Map<string, Promise<BoardState>>();
  /** How many times each board was joined and not left (`leaveBoard`). */
  private readonly joins = new Map<string, number>();
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
    return this.held;
  }

  constructor(private readonly options: TaskFlowClientOptions) {
    super();
    this.urls = Array.isArray(options.url) ? options.url : [options.url];
    // Refused here, before any attempt: one such node among several would otherwise end a client
    // that was live on the others, whenever a reconnect happened to pick it.
    const withPath = this.urls.find(hasPath);
    if (withPath !== undefined) throw noServerAt(withPath);
    this.ackTimeoutMs = options.ackTimeoutMs ?? 30_000;
    this.mutations = new MutationQueue({
      ackTimeoutMs: this.ackTimeoutMs,
      socket: () => (this.state === 'live' ? (this.socket as unknown as Socket | null) : null),
      acknowledged: (data) => {
        const event = (data as { event?: BoardEventJson | null }).event;
        if (event) this.receive(event);
      },
      broken: (socket) => socket.disconnect(),
      resized: (size) => this.emit('unacknowledged', size),
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
   * server afresh. A leave refused RATE_LIMITED is sent again after the delay it names, unless the
   * board was joined again meanwhile. A board dropped (`error` FORBIDDEN or NOT_FOUND, or access
   * revoked) still counts its joins: leave it once for each, as with a board held, or a later join
   * of it is never left.
   */
  async leaveBoard(projectId: string): Promise<void> {
    if (this.leftOnce(projectId) > 0) return;
    this.dropBoard(projectId);
    this.firstJoins.delete(projectId);
    await this.inTurn(async () => {
      if (!this.joins.has(projectId)) await this.request('board:leave', { projectId });
    });
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
    const held = this.held.get(projectId);
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
    const revocationsBefore = this.revocations;
    let answer: AckData<'board:join'>;
    try {
      answer = await this.inTurn(() => this.request('board:join', { projectId }));
    } finally {
      if (this.joining.get(projectId) === early) this.joining.delete(projectId);
    }
    if ('events' in answer) throw new Error('unexpected replay for a first join');
    // The org's access revoked as the board was read (the two may come in one read): the board
    // would be kept up to date no more, as a board held then would have been dropped.
    if ((this.orgRevocations.get(answer.project.orgId) ?? 0) > revocationsBefore)
      throw new TaskFlowError({ code: 'FORBIDDEN', message: "access to the board's org was revoked as it was joined" });
    const board = new BoardState(answer);
    for (const event of early) board.receive(event);
    if (!current()) {
      // Left while this join was under way. Should its leave have reached the server first (it
      // was sent while offline, or this join waited out a RATE_LIMITED refusal), the socket stands
      // in the room now: leave again, in turn and through refusals, unless the board was joined
      // anew since, whose own join came after the leave.
      void this.inTurn(async () => {
        if (!this.joins.has(projectId)) await this.request('board:leave', { projectId });
      }).catch(() => undefined);
      return board;
    }
    this.held.set(projectId, board);
    this.emit('board', board);
    if (board.gap) this.watchGap(projectId);
    return board;
  }

  /**
   * Says which task this client is editing on a joined board (null: none); said again after a
   * reconnect. On a board it has not joined (or has left) it does nothing. One refused
   * RATE_LIMITED is sent again after the delay it names, unless a later one was set meanwhile.
   */
  async setPresence(projectId: string, editingTaskId: string | null): Promise<void> {
    if (!this.held.has(projectId)) return;
    this.presence.set(projectId, editingTaskId);
    await this.inTurn(async () => {
      if (this.held.has(projectId) && this.presence.get(projectId) === editingTaskId)
        await this.request('presence:update', { projectId, editingTaskId });
    });
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
    socket.on('board:event', (event) => this.receive(event));
    socket.on('presence:changed', ({ projectId, viewers }) => this.emit('presence', projectId, viewers));
    socket.on('org:event', (payload) => this.emit('org', payload));
    socket.on('access:revoked', (payload) => {
      if (payload.orgId) {
        this.orgRevocations.set(payload.orgId, (this.revocations += 1));
        for (const [id, board] of this.held) if (board.project.orgId === payload.orgId) this.dropBoard(id);
      }
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
    const rejoined = await Promise.allSettled([...this.held.keys()].map((projectId) => this.resyncBoard(projectId)));
    const failure = rejoined.find((result) => result.status === 'rejected');
    if (this.closed) return false;
    if (failure) {
      this.emit('error', (failure as PromiseRejectedResult).reason as Error);
      if (socket.connected) socket.disconnect(); // try again on a fresh connection
      return false;
    }
    if (!socket.connected) return false;
    for (const projectId of this.presence.keys())
      void this.inTurn(async () => {
        if (this.socket !== socket || !this.presence.has(projectId)) return; // reconnected since, or left
        await this.request('presence:update', { projectId, editingTaskId: this.presence.get(projectId) ?? null });
      }).catch(() => undefined); // a reconnect says it again

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
    const board = this.held.get(projectId);
    if (!board) return;
    let answer: AckData<'board:join'>;
    try {
      answer = await this.inTurn(() => this.request('board:join', { projectId, sinceSeq: board.seq }));
    } catch (error) {
      if (!(error instanceof TaskFlowError) || !BOARD_GONE.has(error.code)) throw error;
      this.dropBoard(projectId);
      this.emit('error', error);
      return;
    }
    if (this.held.get(projectId) !== board) return; // left or dropped meanwhile
    this.gapResyncsFailed.delete(projectId);
    const applied = board.sync(answer);
    if (applied === 'snapshot') this.emit('board', board);
    else for (const event of applied) this.emit('board', board, event as BoardEvent);
  }

  /**
   * A board request (a join, a leave, a presence) in its turn: at most `BOARD_REQUESTS_AT_ONCE`
   * under way, as the server runs an account's events, and one refused RATE_LIMITED sent again
   * after the delay it names, keeping its turn meanwhile. However many boards are joined or left
   * at once (after a reconnect, or by the app), the socket is then never refused more than a few
   * times in a row, which the server would answer by dropping it.
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

  /**
   * Stops keeping a board. Its joins still count (`joins`): each screen that joined it leaves it
   * as it closes, and such a late leave must not end a later join of the board, made once access
   * came back.
   */
  private dropBoard(projectId: string): void {
    this.held.delete(projectId);
    this.presence.delete(projectId);
    clearTimeout(this.gapTimers.get(projectId));
    this.gapTimers.delete(projectId);
    this.gapResyncsFailed.delete(projectId);
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
    for (const timer of this.gapTimers.values()) clearTimeout(timer);
    this.gapTimers.clear();
    this.gapResyncsFailed.clear();
    this.limitedPauses.endAll(); // their requests then find the client closed
    this.mutations.rejectAll(reason);
  }

  /** Waits before the next connect attempt, with jitter, `atLeast` ms at least; `close()` ends the wait at once. */
  private pause(failures: number, atLeast = 0): Promise<void> {
    const ceiling = Math.min(this.options.maxBackoffMs ?? 5000, 100 * 2 ** Math.min(failures, 10));
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

  // --- boards -------------------------------------------------------------------------------

  private receive(event: BoardEventJson): void {
    const board = this.held.get(event.projectId);
    if (!board) {
      this.joining.get(event.projectId)?.push(event);
      return;
    }
    for (const applied of board.receive(event)) this.emit('board', board, applied as BoardEvent);
    if (board.gap) this.watchGap(event.projectId);
  }

  /**
   * An event that waits too long for an earlier one means the earlier one was lost: resync. While
   * the client resyncs, the board may have been rejoined already, so it is watched again until the
   * client is live; while it reconnects, the reconnect's resync rejoins it anyway. A resync that
   * fails (the server's database away, say) is tried again after a pause that doubles each time,
   * as a reconnect's is, up to `maxBackoffMs`, so that the server is not asked every `gapGraceMs`.
   */
  private watchGap(projectId: string): void {
    if (this.gapTimers.has(projectId) || this.closed) return;
    const grace = this.options.gapGraceMs ?? 300;
    const failed = this.gapResyncsFailed.get(projectId) ?? 0;
    const wait = failed === 0 ? grace : Math.min(this.options.maxBackoffMs ?? 5000, grace * 2 ** failed);
    const timer = setTimeout(() => {
      this.gapTimers.delete(projectId);
      if (!this.held.get(projectId)?.gap) return void this.gapResyncsFailed.delete(projectId); // the event came after all
      if (this.state === 'resyncing') return this.watchGap(projectId);
      if (this.state !== 'live') return;
      const board = this.held.get(projectId);
      this.resyncBoard(projectId).then(
        () => undefined,
        (error: Error) => {
          if (this.closed) return; // closed meanwhile: nothing to tell, nor to try again
          this.emit('error', error);
          if (this.held.get(projectId) !== board) return; // left or dropped meanwhile
          this.gapResyncsFailed.set(projectId, (this.gapResyncsFailed.get(projectId) ?? 0) + 1);
          if (board?.gap) this.watchGap(projectId); // try again; a reconnect resyncs too
        },
      );
    }, wait);
    this.gapTimers.set(projectId, timer);
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

type AckData<E extends keyof ClientToServerEvents> = Parameters<ClientToServerEvents[E]>[1] extends (answer: Ack<infer D>) => void
  ? D
  : never;

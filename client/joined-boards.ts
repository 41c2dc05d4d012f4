import type { AckData, ClientEventName, ClientToServerEvents } from '../shared/events.js';
import type { BoardEvent, BoardEventJson } from '../shared/wire.js';
import { BoardState } from './board-state.js';
import type { ConnectionState } from './client-options.js';
import { TaskFlowError } from './errors.js';

/** `board:join` refusals that mean the board is not this client's to see any more. */
const BOARD_GONE: ReadonlySet<string> = new Set(['FORBIDDEN', 'NOT_FOUND']);

/** What the joined boards need of the client that holds them. */
export interface JoinedBoardsHost {
  /** A board request in its turn, sent again after a RATE_LIMITED refusal's delay. */
  inTurn<T>(send: () => Promise<T>): Promise<T>;
  /** A request over the current connection, its answer's data (a refusal rejects with a `TaskFlowError`). */
  request<E extends ClientEventName>(event: E, payload: Parameters<ClientToServerEvents[E]>[0]): Promise<AckData<E>>;
  /** Resolves once the client is live; rejects if it closes first. */
  whenLive(): Promise<void>;
  state(): ConnectionState;
  /** A board changed: the client's `board` event. */
  changed(board: BoardState, event?: BoardEvent): void;
  /** Something failed out of any caller's sight: the client's `error` event. */
  failed(error: Error): void;
  gapGraceMs: number;
  maxBackoffMs: number;
}

/**
 * The boards a client joined and keeps in sync: each joined once however many screens ask, its
 * joins counted, its events applied in `seq` order, a gap resynced, its presence said again after a
 * reconnect, and the board dropped when the server no longer shows it to this client.
 */
export class JoinedBoards {
  /** The boards joined and kept in sync, by project id. */
  readonly held = new Map<string, BoardState>();
  /** What this client is editing on each board held (`setPresence`), said again after a reconnect. */
  private readonly presence = new Map<string, string | null>();
  private readonly gapTimers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Boards whose gap resyncs failed, and how many times in a row (`watchGap`). */
  private readonly gapResyncsFailed = new Map<string, number>();
  /** Events for boards whose first `board:join` is still unanswered. */
  private readonly joining = new Map<string, BoardEventJson[]>();
  /** The first joins still under way, which later joins of the same board wait for. */
  private readonly firstJoins = new Map<string, Promise<BoardState>>();
  /** How many times each board was joined and not left. */
  private readonly joins = new Map<string, number>();
  /** Access revocations heard (`access:revoked` naming an org), and the count at each org's latest. */
  private revocations = 0;
  private readonly orgRevocations = new Map<string, number>();

  constructor(private readonly host: JoinedBoardsHost) {}

  /** Joins a board (`TaskFlowClient.joinBoard`): one more join to leave. */
  async join(projectId: string): Promise<BoardState> {
    this.joins.set(projectId, (this.joins.get(projectId) ?? 0) + 1);
    try {
      return await this.joinOnce(projectId);
    } catch (error) {
      this.leftOnce(projectId);
      throw error;
    }
  }

  /** Leaves a board (`TaskFlowClient.leaveBoard`): the server is told once its last join is left. */
  async leave(projectId: string): Promise<void> {
    if (this.leftOnce(projectId) > 0) return;
    this.drop(projectId);
    this.firstJoins.delete(projectId);
    await this.leaveUnlessJoinedAgain(projectId);
  }

  /** Says which task this client is editing on a board held (`TaskFlowClient.setPresence`). */
  async setPresence(projectId: string, editingTaskId: string | null): Promise<void> {
    if (!this.held.has(projectId)) return;
    this.presence.set(projectId, editingTaskId);
    await this.host.inTurn(async () => {
      if (this.held.has(projectId) && this.presence.get(projectId) === editingTaskId)
        await this.host.request('presence:update', { projectId, editingTaskId });
    });
  }

  /** A board event, heard or in a mutation's answer: applied to its board, or kept for a join under way. */
  receive(event: BoardEventJson): void {
    const board = this.held.get(event.projectId);
    if (!board) {
      this.joining.get(event.projectId)?.push(event);
      return;
    }
    for (const applied of board.receive(event)) this.host.changed(board, applied as BoardEvent);
    if (board.gap) this.watchGap(event.projectId);
  }

  /** Access to an org was revoked: its boards are dropped, and a join of one under way fails. */
  revokeOrg(orgId: string): void {
    this.orgRevocations.set(orgId, (this.revocations += 1));
    for (const [id, board] of this.held) if (board.project.orgId === orgId) this.drop(id);
  }

  /** After a connect: catches every board held up from its last `seq`; answers the first failure, if any. */
  async resync(): Promise<Error | undefined> {
    const rejoined = await Promise.allSettled([...this.held.keys()].map((projectId) => this.resyncBoard(projectId)));
    const failure = rejoined.find((result) => result.status === 'rejected');
    return failure && ((failure as PromiseRejectedResult).reason as Error);
  }

  /** Says every board's presence again on a new connection; `current`: whether it is still the client's. */
  sayPresenceAgain(current: () => boolean): void {
    for (const projectId of this.presence.keys())
      void this.host
        .inTurn(async () => {
          if (!current() || !this.presence.has(projectId)) return; // reconnected since, or left
          await this.host.request('presence:update', { projectId, editingTaskId: this.presence.get(projectId) ?? null });
        })
        .catch(() => undefined); // a reconnect says it again
  }

  /** The client closed: no gap is watched any more. */
  stop(): void {
    for (const timer of this.gapTimers.values()) clearTimeout(timer);
    this.gapTimers.clear();
    this.gapResyncsFailed.clear();
  }

  /** Counts one join of the board as left; answers how many are left standing. */
  private leftOnce(projectId: string): number {
    const standing = Math.max(0, (this.joins.get(projectId) ?? 0) - 1);
    if (standing === 0) this.joins.delete(projectId);
    else this.joins.set(projectId, standing);
    return standing;
  }

  /** `board:leave`, in turn and through refusals, unless the board was joined anew meanwhile (its join came after). */
  private leaveUnlessJoinedAgain(projectId: string): Promise<void> {
    return this.host.inTurn(async () => {
      if (!this.joins.has(projectId)) await this.host.request('board:leave', { projectId });
    });
  }

  /**
   * The board, joined once however many screens ask: a board already held, or being joined, is
   * answered with the same `BoardState`, which this client keeps in sync. (A second join that
   * replaced it left the first screen's copy behind, and could miss an event that came between
   * the second snapshot's read and its answer.)
   */
  private joinOnce(projectId: string): Promise<BoardState> {
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

  /** `current`: whether the board was not left since this join began. */
  private async firstJoin(projectId: string, current: () => boolean): Promise<BoardState> {
    await this.host.whenLive();
    const early: BoardEventJson[] = [];
    this.joining.set(projectId, early);
    const revocationsBefore = this.revocations;
    let answer: AckData<'board:join'>;
    try {
      answer = await this.host.inTurn(() => this.host.request('board:join', { projectId }));
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
      // in the room now: leave again.
      void this.leaveUnlessJoinedAgain(projectId).catch(() => undefined);
      return board;
    }
    this.held.set(projectId, board);
    this.host.changed(board);
    if (board.gap) this.watchGap(projectId);
    return board;
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
      answer = await this.host.inTurn(() => this.host.request('board:join', { projectId, sinceSeq: board.seq }));
    } catch (error) {
      if (!(error instanceof TaskFlowError) || !BOARD_GONE.has(error.code)) throw error;
      this.drop(projectId);
      this.host.failed(error);
      return;
    }
    if (this.held.get(projectId) !== board) return; // left or dropped meanwhile
    this.gapResyncsFailed.delete(projectId);
    const applied = board.sync(answer);
    if (applied === 'snapshot') this.host.changed(board);
    else for (const event of applied) this.host.changed(board, event as BoardEvent);
  }

  /**
   * Stops keeping a board. Its joins still count (`joins`): each screen that joined it leaves it
   * as it closes, and such a late leave must not end a later join of the board, made once access
   * came back.
   */
  private drop(projectId: string): void {
    this.held.delete(projectId);
    this.presence.delete(projectId);
    clearTimeout(this.gapTimers.get(projectId));
    this.gapTimers.delete(projectId);
    this.gapResyncsFailed.delete(projectId);
  }

  /**
   * An event that waits too long for an earlier one means the earlier one was lost: resync. While
   * the client resyncs, the board may have been rejoined already, so it is watched again until the
   * client is live; while it reconnects, the reconnect's resync rejoins it anyway. A resync that
   * fails (the server's database away, say) is tried again after a pause that doubles each time,
   * as a reconnect's is, up to `maxBackoffMs`, so that the server is not asked every `gapGraceMs`.
   */
  private watchGap(projectId: string): void {
    if (this.gapTimers.has(projectId) || this.host.state() === 'closed') return;
    const grace = this.host.gapGraceMs;
    const failed = this.gapResyncsFailed.get(projectId) ?? 0;
    const wait = failed === 0 ? grace : Math.min(this.host.maxBackoffMs, grace * 2 ** failed);
    const timer = setTimeout(() => {
      this.gapTimers.delete(projectId);
      if (!this.held.get(projectId)?.gap) return void this.gapResyncsFailed.delete(projectId); // the event came after all
      if (this.host.state() === 'resyncing') return this.watchGap(projectId);
      if (this.host.state() !== 'live') return;
      const board = this.held.get(projectId);
      this.resyncBoard(projectId).then(
        () => undefined,
        (error: Error) => {
          if (this.host.state() === 'closed') return; // closed meanwhile: nothing to tell, nor to try again
          this.host.failed(error);
          if (this.held.get(projectId) !== board) return; // left or dropped meanwhile
          this.gapResyncsFailed.set(projectId, (this.gapResyncsFailed.get(projectId) ?? 0) + 1);
          if (board?.gap) this.watchGap(projectId); // try again; a reconnect resyncs too
        },
      );
    }, wait);
    this.gapTimers.set(projectId, timer);
  }
}

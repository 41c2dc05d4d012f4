import { LRUCache } from 'lru-cache';
import type { BoardEventJson } from '../../shared/wire.js';
import type { Broadcaster } from '../context.js';

/** A committed board event on its way out, and the socket that learns of it from its ack instead. */
export interface Outgoing {
  orgId: string;
  event: BoardEventJson;
  exceptSocketId?: string;
}

interface Board {
  /**
   * The `seq`s taken by changes not settled yet: how many hold each (a rolled-back one is taken
   * again) and since when.
   */
  open: Map<number, { holders: number; since: number }>;
  /** Committed events waiting for an open `seq` before theirs. */
  held: Outgoing[];
  /** When the oldest open `seq` that holds events back stops doing so. */
  timer?: NodeJS.Timeout;
}

/**
 * The longest a change may hold the board's later events back. One that takes longer (its
 * connection went silent mid-transaction, say) is waited for no more: the events after it go out,
 * and it goes out whenever it commits, out of order (clients order by `seq`).
 */
const MOST_HOLD_MS = 5000;

/** How long this node keeps looking in the log for a change whose answer was lost, and the longest wait between looks. */
const LOOK_FOR_LOST_MS = 10 * 60_000;
const MOST_BETWEEN_LOOKS_MS = 30_000;

/** The event a change with `clientMutationId` logged on the board, if it committed; throws while the database is away. */
export type FindLogged = (orgId: string, projectId: string, clientMutationId: string) => Promise<BoardEventJson | null>;

/**
 * Sends the board events this node commits out in `seq` order. PostgreSQL hands a board's `seq`
 * out one change at a time (its row lock), but the answers come back on different connections: a
 * change on the general path learns its `seq` first and commits several round trips later, and the
 * change that took the next `seq` the moment it committed (a quick one, in one message) could be
 * answered and broadcast while the first was still finishing. So a change that has taken a `seq`
 * and not settled keeps the board's later events waiting, on this node. Events of other nodes come
 * through the adapter, in their own time: clients order by `seq` (DESIGN §7).
 */
export class BoardEventOrder {
  private readonly boards = new Map<string, Board>();
  /**
   * The changes this node answered UNAVAILABLE lately, by board and `clientMutationId`: each may
   * have committed with its answer lost, and then no one broadcast it.
   */
  private readonly unsure = new LRUCache<string, true>({ max: 10_000 });

  constructor(
    private readonly broadcaster: Broadcaster,
    /** Where lost answers are looked for (`unsureOf`); by default nowhere. */
    private readonly findLogged: FindLogged = async () => null,
  ) {}

  /** A change of the board took `seq` and has not committed yet: the board's later events wait for it. */
  taken(orgId: string, projectId: string, seq: number): void {
    const key = boardKey(orgId, projectId);
    const board = this.boards.get(key) ?? { open: new Map(), held: [] };
    this.boards.set(key, board);
    const open = board.open.get(seq);
    board.open.set(seq, { holders: (open?.holders ?? 0) + 1, since: open?.since ?? Date.now() });
  }

  /** The change that took `seq` committed `outgoing`, or wrote nothing (null): it goes out, and what waited for it. */
  settled(orgId: string, projectId: string, seq: number, outgoing: Outgoing | null): void {
    const key = boardKey(orgId, projectId);
    const board = this.boards.get(key);
    if (!board) throw new Error(`seq ${seq} of ${key} settled without being taken`);
    const open = board.open.get(seq);
    if (open && open.holders > 1) open.holders -= 1;
    else board.open.delete(seq);
    if (outgoing) board.held.push(outgoing);
    this.flush(key, board);
  }

  /** Sends a committed event that took its `seq` without `taken`: now, or once the changes open before it settle. */
  send(outgoing: Outgoing): void {
    const key = boardKey(outgoing.orgId, outgoing.event.projectId);
    const board = this.boards.get(key);
    if (!board) return this.emit(outgoing);
    board.held.push(outgoing);
    this.flush(key, board);
  }

  /**
   * A change with `clientMutationId` failed as the database went away: whether it committed is
   * unknown. A retry on this node finds out (`retried`); but the client may retry on another
   * node, which answers from the log and broadcasts nothing, or never retry. So this node also
   * looks for it in the log itself, as soon as the database answers again, and sends it out if
   * it committed.
   */
  unsureOf(orgId: string, projectId: string, clientMutationId: string): void {
    const key = `${projectId}:${clientMutationId}`;
    this.unsure.set(key, true);
    void this.lookFor(key, orgId, projectId, clientMutationId);
  }

  private async lookFor(key: string, orgId: string, projectId: string, clientMutationId: string): Promise<void> {
    const until = Date.now() + LOOK_FOR_LOST_MS;
    for (let wait = 1000; Date.now() < until; wait = Math.min(wait * 2, MOST_BETWEEN_LOOKS_MS)) {
      await new Promise((resolve) => setTimeout(resolve, wait).unref());
      if (!this.unsure.has(key)) return; // a retry on this node sent it out, or it was forgotten
      try {
        const event = await this.findLogged(orgId, projectId, clientMutationId);
        if (this.unsure.delete(key) && event) this.send({ orgId, event });
        return;
      } catch {
        // the database is still away: look again later
      }
    }
    this.unsure.delete(key);
  }

  /**
   * A retry was answered with `outgoing`, from the log: if this node answered its first try
   * UNAVAILABLE, that try committed with its answer lost and was never broadcast, so it goes out
   * now. (A retry of a change that was broadcast is not sent again.)
   */
  retried(outgoing: Outgoing): void {
    const key = `${outgoing.event.projectId}:${outgoing.event.clientMutationId}`;
    if (!this.unsure.delete(key)) return;
    this.send(outgoing);
  }

  private flush(key: string, board: Board): void {
    const now = Date.now();
    let firstOpen = Infinity; // the first seq still holding events back
    let expires = Infinity;
    for (const [seq, { since }] of board.open) {
      if (now - since >= MOST_HOLD_MS) continue;
      firstOpen = Math.min(firstOpen, seq);
      expires = Math.min(expires, since + MOST_HOLD_MS);
    }
    board.held.sort((a, b) => a.event.seq - b.event.seq);
    while (board.held[0] && board.held[0].event.seq < firstOpen) this.emit(board.held.shift()!);
    clearTimeout(board.timer);
    board.timer = board.held.length > 0 ? setTimeout(() => this.flush(key, board), expires - now).unref() : undefined;
    if (board.open.size === 0 && board.held.length === 0) this.boards.delete(key);
  }

  private emit({ orgId, event, exceptSocketId }: Outgoing): void {
    this.broadcaster.boardEvent(orgId, event, exceptSocketId);
  }
}

function boardKey(orgId: string, projectId: string): string {
  return `${orgId}/${projectId}`;
}

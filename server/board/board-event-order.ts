import { setTimeout as sleep } from 'node:timers/promises';
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
  /**
   * The quick changes sent and not answered yet (`quickSent`), whose `seq` is known only once
   * answered; `holdsFrom`: the first `seq` another change took meanwhile, which theirs may come before.
   */
  quick: Set<{ holdsFrom: number; since: number }>;
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

/** An event in the log, with the id of its row (which tells which try of a change wrote it). */
export interface Logged {
  id: string;
  event: BoardEventJson;
}

/**
 * The event a change logged on the board, if it committed: by its `clientMutationId`, whichever of
 * its tries wrote it, or, without one, by the row id of its only try. Throws while the database is away.
 */
export type FindLogged = (orgId: string, projectId: string, change: LostChange) => Promise<Logged | null>;

/** A change whose answer was lost, as it is looked for in the log (`FindLogged`). */
export type LostChange = { clientMutationId: string } | { eventId: string };

/**
 * Sends the board events this node commits out in `seq` order. PostgreSQL hands a board's `seq`
 * out one change at a time (its row lock), but the answers come back on different connections: a
 * change on the general path learns its `seq` first and commits several round trips later, and the
 * change that took the next `seq` the moment it committed (a quick one, in one message) could be
 * answered and broadcast while the first was still finishing. So a change that has taken a `seq`
 * and not settled keeps the board's later events waiting, on this node. The other way round too: a
 * quick change whose message took a `seq` and committed, its answer not read yet, while a general
 * change took the next one the moment it committed, settled, and went out first (one run of
 * `board-order.test.ts` in a loaded CI saw 94, 96, 95). A quick change does not know its `seq`
 * until answered, so once its message is sent (`quickSent`), a `seq` another change takes and
 * those after it wait for its answer (five seconds at most, as above). Events of other nodes come
 * through the adapter, in their own time: clients order by `seq` (DESIGN §7).
 */
export class BoardEventOrder {
  private readonly boards = new Map<string, Board>();
  /**
   * The changes this node answered UNAVAILABLE lately, by board and `clientMutationId` (or, for
   * one without, its row id), with the row ids their failed tries would have logged their event
   * as: one of them may have committed with its answer lost, and then no one broadcast it.
   */
  private readonly unsure = new LRUCache<string, Set<string>>({ max: 10_000 });
  /** The keys of `unsure` whose log is being looked at (`lookFor`), with their change: one look per change. */
  private readonly looking = new Map<string, UnsureChange>();

  constructor(
    private readonly broadcaster: Broadcaster,
    /** Where lost answers are looked for (`unsureOf`); by default nowhere. */
    private readonly findLogged: FindLogged = async () => null,
  ) {}

  /** A change of the board took `seq` and has not committed yet: the board's later events wait for it. */
  taken(orgId: string, projectId: string, seq: number): void {
    const board = this.board(boardKey(orgId, projectId));
    const open = board.open.get(seq);
    board.open.set(seq, { holders: (open?.holders ?? 0) + 1, since: open?.since ?? Date.now() });
    // A quick change under way may have taken an earlier seq, committed, and not be answered yet.
    for (const quick of board.quick) {
      if (seq >= quick.holdsFrom) continue;
      quick.holdsFrom = seq;
      quick.since ||= Date.now();
    }
  }

  /**
   * A quick change of the board is being sent, and will learn its `seq` from the answer: until the
   * returned function is called (once its event went to `send`, or it failed), a `seq` another
   * change takes meanwhile, and those after it, wait for it.
   */
  quickSent(orgId: string, projectId: string): () => void {
    const key = boardKey(orgId, projectId);
    const board = this.board(key);
    const quick = { holdsFrom: Infinity, since: 0 };
    board.quick.add(quick);
    return () => {
      board.quick.delete(quick);
      this.flush(key, board);
    };
  }

  private board(key: string): Board {
    const board = this.boards.get(key) ?? { open: new Map(), held: [], quick: new Set() };
    this.boards.set(key, board);
    return board;
  }

  /** The change that took `seq` committed `outgoing`, or wrote nothing (null): it goes out, and what waited for it. */
  settled(orgId: string, projectId: string, seq: number, outgoing: Outgoing | null): void {
    this.settledAll(orgId, [{ projectId, seq, outgoing }]);
  }

  /**
   * `settled` for each of the seqs one change of the org took (a label deleted from thousands of
   * cards, say), each board's events then sent in one go: not a look at all of a board's open
   * seqs per seq settled, which made a change of 20,000 events stall the node for seconds.
   */
  settledAll(orgId: string, seqs: Array<{ projectId: string; seq: number; outgoing: Outgoing | null }>): void {
    const touched = new Map<string, Board>();
    for (const { projectId, seq, outgoing } of seqs) {
      const key = boardKey(orgId, projectId);
      const board = this.boards.get(key);
      if (!board) throw new Error(`seq ${seq} of ${key} settled without being taken`);
      const open = board.open.get(seq);
      if (open && open.holders > 1) open.holders -= 1;
      else board.open.delete(seq);
      if (outgoing) board.held.push(outgoing);
      touched.set(key, board);
    }
    for (const [key, board] of touched) this.flush(key, board);
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
   * A try of a change failed as the database went away: whether it committed, as row `eventId`,
   * is unknown. A retry with its `clientMutationId` on this node finds out (`retried`); but the
   * client may retry on another node, which answers from the log and broadcasts nothing, or never
   * retry (nor can it, without a `clientMutationId`: a try again is another change). So this node
   * also looks in the log itself, as soon as the database answers again, and sends the event out
   * if one of its failed tries wrote it. (One that a later, answered try wrote was broadcast then.)
   */
  unsureOf(orgId: string, projectId: string, clientMutationId: string | undefined, eventId: string): void {
    const key = clientMutationId ? `${projectId}:${clientMutationId}` : `${projectId}#${eventId}`;
    const tries = this.unsure.get(key) ?? new Set<string>();
    this.unsure.set(key, tries.add(eventId));
    this.lookForLost(key, { orgId, projectId, lost: clientMutationId ? { clientMutationId } : { eventId } });
  }

  /**
   * `unsureOf` for one change that logged `events` on the org's boards in one transaction (a
   * label's deletion), each with the id of its row: they committed all or none, so one is looked
   * for, the last (a change that logs more than a board keeps prunes its own first ones), and
   * all go out if it is there. One entry, however many events.
   */
  unsureOfAll(orgId: string, events: Logged[]): void {
    const last = events.at(-1);
    if (!last) return;
    const key = `${last.event.projectId}#${last.id}`;
    this.unsure.set(key, new Set([last.id]));
    this.lookForLost(key, { orgId, projectId: last.event.projectId, lost: { eventId: last.id }, events: events.map(({ event }) => event) });
  }

  private lookForLost(key: string, change: UnsureChange): void {
    if (this.looking.has(key)) return;
    this.looking.set(key, change);
    void this.lookFor(key, change).finally(() => this.looking.delete(key));
  }

  /**
   * For a stop, while the database and Redis are still open: one look more in the log for each
   * change whose answer this node lost, sending out those that committed. The looks it would have
   * gone on with end with the node, and a retry on another node broadcasts nothing.
   */
  async lookOnceMore(): Promise<void> {
    await Promise.all([...this.looking].map(([key, change]) => this.lookOnce(key, change).catch(() => {})));
  }

  /** How many changes whose answer this node lost it is still looking for in the log. */
  get lookingFor(): number {
    return this.looking.size;
  }

  /** How many changes whose answer this node lost it has not yet found in the log, nor found absent. */
  get unsettled(): number {
    return this.unsure.size;
  }

  private async lookFor(key: string, change: UnsureChange): Promise<void> {
    const until = Date.now() + LOOK_FOR_LOST_MS;
    for (let wait = 1000; Date.now() < until; wait = Math.min(wait * 2, MOST_BETWEEN_LOOKS_MS)) {
      await sleep(wait, undefined, { ref: false });
      try {
        if (await this.lookOnce(key, change)) return;
      } catch {
        // the database is still away: look again later
      }
    }
    this.unsure.delete(key);
  }

  /** Looks in the log once for the change of `key`: true once there is nothing more to look for; throws while the database is away. */
  private async lookOnce(key: string, { orgId, projectId, lost, events }: UnsureChange): Promise<boolean> {
    const asked = this.unsure.get(key)?.size;
    if (asked === undefined) return true; // a retry on this node settled it, or it was forgotten
    const logged = await this.findLogged(orgId, projectId, lost);
    const tries = this.unsure.get(key);
    if (!tries) return true;
    if (logged) {
      this.settleUnsure(key, logged, ...(events ?? [logged.event]).map((event) => ({ orgId, event })));
      return true;
    }
    const noneCommitted = tries.size === asked; // else another try failed while this look ran: look again, for it
    if (noneCommitted) this.unsure.delete(key);
    return noneCommitted;
  }

  /**
   * A retry was answered with `outgoing`, from the log, where its event is row `loggedId`: if
   * this node answered the try that wrote it UNAVAILABLE, that try committed with its answer lost
   * and was never broadcast, so it goes out now. (A change an answered try wrote was broadcast then.)
   */
  retried(outgoing: Outgoing, loggedId: string): void {
    const key = `${outgoing.event.projectId}:${outgoing.event.clientMutationId}`;
    if (this.unsure.has(key)) this.settleUnsure(key, { id: loggedId, event: outgoing.event }, outgoing);
  }

  /** The change is in the log as `logged`: its events sent out if a try this node lost wrote it; then nothing more to look for. */
  private settleUnsure(key: string, logged: Logged, ...outgoing: Outgoing[]): void {
    const lost = this.unsure.get(key)?.has(logged.id);
    this.unsure.delete(key);
    if (lost) for (const each of outgoing) this.send(each);
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
    for (const { holdsFrom, since } of board.quick) {
      if (holdsFrom === Infinity || now - since >= MOST_HOLD_MS) continue;
      firstOpen = Math.min(firstOpen, holdsFrom);
      expires = Math.min(expires, since + MOST_HOLD_MS);
    }
    board.held.sort((a, b) => a.event.seq - b.event.seq);
    let sent = 0;
    while (sent < board.held.length && board.held[sent]!.event.seq < firstOpen) this.emit(board.held[sent++]!);
    board.held.splice(0, sent);
    clearTimeout(board.timer);
    board.timer = board.held.length > 0 ? setTimeout(() => this.flush(key, board), expires - now).unref() : undefined;
    if (board.open.size === 0 && board.held.length === 0 && board.quick.size === 0) this.boards.delete(key);
  }

  private emit({ orgId, event, exceptSocketId }: Outgoing): void {
    this.broadcaster.boardEvent(orgId, event, exceptSocketId);
  }
}

/** A change whose answer this node lost. */
interface UnsureChange {
  orgId: string;
  projectId: string;
  lost: LostChange;
  /** The events it logged in all, when more than the one looked for (`unsureOfAll`): sent out with it. */
  events?: BoardEventJson[];
}

function boardKey(orgId: string, projectId: string): string {
  return `${orgId}/${projectId}`;
}

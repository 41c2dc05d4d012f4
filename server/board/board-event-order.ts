import type { BoardEventJson } from '../../shared/wire.js';
import type { Broadcaster } from '../context.js';

/** A committed board event on its way out, and the socket that learns of it from its ack instead. */
export interface Outgoing {
  orgId: string;
  event: BoardEventJson;
  exceptSocketId?: string;
}

interface Board {
  /** The `seq`s taken by changes not settled yet, with how many hold each (a rolled-back one is taken again). */
  open: Map<number, number>;
  /** Committed events waiting for an open `seq` before theirs. */
  held: Outgoing[];
}

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

  constructor(private readonly broadcaster: Broadcaster) {}

  /** A change of the board took `seq` and has not committed yet: the board's later events wait for it. */
  taken(orgId: string, projectId: string, seq: number): void {
    const key = boardKey(orgId, projectId);
    const board = this.boards.get(key) ?? { open: new Map(), held: [] };
    this.boards.set(key, board);
    board.open.set(seq, (board.open.get(seq) ?? 0) + 1);
  }

  /** The change that took `seq` committed `outgoing`, or wrote nothing (null): it goes out, and what waited for it. */
  settled(orgId: string, projectId: string, seq: number, outgoing: Outgoing | null): void {
    const key = boardKey(orgId, projectId);
    const board = this.boards.get(key);
    if (!board) throw new Error(`seq ${seq} of ${key} settled without being taken`);
    const holders = board.open.get(seq) ?? 1;
    if (holders > 1) board.open.set(seq, holders - 1);
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

  private flush(key: string, board: Board): void {
    const firstOpen = Math.min(...board.open.keys()); // Infinity when none is open
    board.held.sort((a, b) => a.event.seq - b.event.seq);
    while (board.held[0] && board.held[0].event.seq < firstOpen) this.emit(board.held.shift()!);
    if (board.open.size === 0 && board.held.length === 0) this.boards.delete(key);
  }

  private emit({ orgId, event, exceptSocketId }: Outgoing): void {
    this.broadcaster.boardEvent(orgId, event, exceptSocketId);
  }
}

function boardKey(orgId: string, projectId: string): string {
  return `${orgId}/${projectId}`;
}

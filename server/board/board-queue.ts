import type { Orm } from '../db/orm.js';
import { type ScriptConnection, type Sql, withScriptConnection } from '../db/sql-script.js';
import { isUnavailable } from '../errors.js';

type Rows = Array<Record<string, unknown>>;

/** The statements a message of the board runs before its changes' and after them. */
export interface BoardScript {
  before: Sql[];
  after: Sql[];
}

interface Waiting {
  script: BoardScript;
  statements: Sql[];
  resolve: (rows: Rows[] | null) => void;
  reject: (error: unknown) => void;
}

/** A change of the board made elsewhere (the general path), run in the board's turn: see `alone`. */
interface Alone {
  work: () => Promise<void>;
}

type Turn = Waiting | Alone;
const isAlone = (turn: Turn): turn is Alone => 'work' in turn;

/** The most changes one message carries. */
const MOST_PER_MESSAGE = 32;

/**
 * Sends the quick changes of each board one message at a time. A change that comes while its
 * board's message is in flight waits, and all that wait go together in the next message, in the
 * order they came. PostgreSQL runs a message as one transaction, so they share one wait for the
 * board's `seq` row and one commit: writers of a board are serialised by that row anyway (DESIGN
 * §9), and a busy board then commits many changes per flush of the log instead of one.
 *
 * A busy board keeps its connection from one message to the next, and sends the next as soon as
 * one is answered, before that one's changes are settled: PostgreSQL runs it while this process
 * broadcasts and acknowledges the last. Its answer can only be read after those settle, so a
 * board's events still go out in `seq` order. The board lets the connection go when nothing is
 * waiting, or when other work waits for one of the pool.
 *
 * If a message fails, each of its changes is sent again alone, so that an error is its own
 * change's; if the database cannot be reached, they and all the board's changes waiting fail at once.
 */
export class BoardQueue {
  /** What waits, by board, in the order it came; a board is here while a message or an `alone` of its runs. */
  private readonly boards = new Map<string, Turn[]>();

  constructor(private readonly orm: Orm) {}

  /**
   * Runs `statements` in a message of the board's turn, between the script's: the rows of each of
   * `statements`; null on the embedded database, where nothing is sent. The script must be the
   * same for every change of `board` (a message runs its first change's).
   */
  run(board: string, script: BoardScript, statements: Sql[]): Promise<Rows[] | null> {
    return new Promise((resolve, reject) => this.enqueue(board, { script, statements, resolve, reject }));
  }

  /**
   * Runs `work`, a change of the board that does not travel in a message (the general path: its
   * own transaction, then its broadcast), in the board's turn: after the board's messages before it
   * are answered and broadcast, and before the changes that come meanwhile. PostgreSQL serialises
   * a board's writers anyway (its `seq` row); this makes the events of a board that one node
   * commits leave that node in `seq` order, whichever path made them. Without it, a message
   * waiting for the row lock of a general change took the next `seq` the moment that one committed,
   * and was answered and broadcast while the general path was still finishing its transaction.
   * `work` must not wait for another change of the same board.
   */
  alone<T>(board: string, work: () => Promise<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      const run = async () => {
        try {
          resolve(await work());
        } catch (error) {
          reject(error);
        }
      };
      this.enqueue(board, { work: run });
    });
  }

  private enqueue(board: string, turn: Turn): void {
    const waiting = this.boards.get(board);
    if (waiting) waiting.push(turn);
    else {
      this.boards.set(board, [turn]);
      this.next(board);
    }
  }

  /** Starts the board's next turn: what waits first, alone, or the changes before the next `alone`. */
  private next(board: string): void {
    const waiting = this.boards.get(board)!;
    const first = waiting[0];
    if (!first) this.boards.delete(board);
    else if (isAlone(first)) {
      waiting.shift();
      void first.work().finally(() => this.next(board));
    } else void this.turn(board, takeChanges(waiting));
  }

  private async turn(board: string, changes: Waiting[]): Promise<void> {
    const waiting = this.boards.get(board)!;
    let lost: unknown = null;
    try {
      const failed = await withScriptConnection(this.orm, (db) => this.stream(db, changes, waiting));
      if (failed === null)
        settle(changes, null); // the embedded database: nothing was sent
      else if (failed) lost = await this.recover(failed.changes, failed.error);
    } catch (error) {
      // No connection could be had: nothing of these changes was sent.
      lost = await this.recover(changes, error);
    } finally {
      // With the database out of reach, each change waiting would only wait its own timeout in turn.
      if (lost) {
        const rest = waiting.splice(0);
        for (const turn of rest) if (!isAlone(turn)) turn.reject(lost);
        waiting.push(...rest.filter(isAlone)); // each finds out for itself
      }
      this.next(board);
    }
  }

  /**
   * Sends `changes` and then, on the same connection, the board's changes that wait, each message
   * as soon as the one before is answered and before settling that one's changes; until none
   * waits, the pool is wanted elsewhere, or a message fails: then its changes and the error.
   */
  private async stream(
    db: ScriptConnection,
    changes: Waiting[],
    waiting: Turn[],
  ): Promise<{ changes: Waiting[]; error: unknown } | undefined> {
    let answer = message(db, changes);
    for (;;) {
      let rows: Rows[];
      try {
        rows = await answer;
      } catch (error) {
        return { changes, error };
      }
      const next = db.wanted() ? [] : takeChanges(waiting);
      if (next.length > 0) answer = message(db, next);
      settle(changes, rows);
      if (next.length === 0) return undefined;
      changes = next;
    }
  }

  /**
   * Settles the changes of a message that failed with `error`: each is sent again alone, so that
   * an error is its own change's. Answers the error if the database was out of reach.
   */
  private async recover(changes: Waiting[], error: unknown): Promise<unknown> {
    if (changes.length === 1 || isUnavailable(error)) {
      for (const change of changes) change.reject(error);
      return isUnavailable(error) ? error : null;
    }
    for (const [i, change] of changes.entries()) {
      const lost = await this.sendAlone(change);
      if (lost) {
        for (const rest of changes.slice(i + 1)) rest.reject(lost);
        return lost;
      }
    }
    return null;
  }

  /** Sends one change in a message of its own, settling it; the error if the database was out of reach. */
  private async sendAlone(change: Waiting): Promise<unknown> {
    try {
      settle([change], await withScriptConnection(this.orm, (db) => message(db, [change])));
      return null;
    } catch (error) {
      change.reject(error);
      return isUnavailable(error) ? error : null;
    }
  }
}

/** The changes that wait first, up to a message's worth, before any `alone`: taken out of `waiting`. */
function takeChanges(waiting: Turn[]): Waiting[] {
  const alone = waiting.findIndex(isAlone);
  return waiting.splice(0, Math.min(MOST_PER_MESSAGE, alone === -1 ? waiting.length : alone)) as Waiting[];
}

/** The changes in one message, between their board's script (the first change's). */
function message(db: ScriptConnection, changes: Waiting[]): Promise<Rows[]> {
  const { before, after } = changes[0]!.script;
  return db.run(...before, ...changes.flatMap((change) => change.statements), ...after);
}

/** Hands each change the rows of its own statements (null: nothing was sent). */
function settle(changes: Waiting[], rows: Rows[] | null): void {
  let at = rows ? changes[0]!.script.before.length : 0;
  for (const change of changes) change.resolve(rows && rows.slice(at, (at += change.statements.length)));
}

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
  /** Called once, as the first message that carries the change is sent. */
  sending?: () => void;
  resolve: (rows: Rows[] | null) => void;
  reject: (error: unknown) => void;
}

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
  /** The changes waiting, by board; a board is here while a message of its is in flight. */
  private readonly boards = new Map<string, Waiting[]>();

  constructor(private readonly orm: Orm) {}

  /**
   * Runs `statements` in a message of the board's turn, between the script's: the rows of each of
   * `statements`; null on the embedded database, where nothing is sent. The script must be the
   * same for every change of `board` (a message runs its first change's). `sending` is called once,
   * as the first message that carries them is sent, before PostgreSQL can have run any of them.
   */
  run(board: string, script: BoardScript, statements: Sql[], sending?: () => void): Promise<Rows[] | null> {
    return new Promise((resolve, reject) => {
      const change: Waiting = { script, statements, resolve, reject, sending };
      const waiting = this.boards.get(board);
      if (waiting) waiting.push(change);
      else {
        this.boards.set(board, []);
        void this.turn(board, [change]);
      }
    });
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
      if (lost) for (const change of waiting.splice(0)) change.reject(lost);
      const next = waiting.splice(0, MOST_PER_MESSAGE);
      if (next.length > 0) void this.turn(board, next);
      else this.boards.delete(board);
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
    waiting: Waiting[],
  ): Promise<{ changes: Waiting[]; error: unknown } | undefined> {
    let answer = message(db, changes);
    for (;;) {
      let rows: Rows[];
      try {
        rows = await answer;
      } catch (error) {
        return { changes, error };
      }
      const next = db.wanted() ? [] : waiting.splice(0, MOST_PER_MESSAGE);
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

/** The changes in one message, between their board's script (the first change's). */
function message(db: ScriptConnection, changes: Waiting[]): Promise<Rows[]> {
  const { before, after } = changes[0]!.script;
  for (const change of changes) {
    change.sending?.();
    change.sending = undefined;
  }
  return db.run(...before, ...changes.flatMap((change) => change.statements), ...after);
}

/** Hands each change the rows of its own statements (null: nothing was sent). */
function settle(changes: Waiting[], rows: Rows[] | null): void {
  let at = rows ? changes[0]!.script.before.length : 0;
  for (const change of changes) change.resolve(rows && rows.slice(at, (at += change.statements.length)));
}

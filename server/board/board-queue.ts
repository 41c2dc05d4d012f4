import type { Orm } from '../db/orm.js';
import { type Sql, withScriptConnection } from '../db/sql-script.js';
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

/** The most changes one message carries. */
const MOST_PER_MESSAGE = 32;

/**
 * Sends the quick changes of each board one message at a time. A change that comes while its
 * board's message is in flight waits, and all that wait go together in the next message, in the
 * order they came. PostgreSQL runs a message as one transaction, so they share one wait for the
 * board's `seq` row and one commit: writers of a board are serialised by that row anyway (DESIGN
 * §9), and a busy board then commits many changes per flush of the log instead of one. If a
 * message fails, each of its changes is sent again alone, so that an error is its own change's;
 * if the database cannot be reached, they and all the board's changes waiting fail at once.
 */
export class BoardQueue {
  /** The changes waiting, by board; a board is here while a message of its is in flight. */
  private readonly boards = new Map<string, Waiting[]>();

  constructor(private readonly orm: Orm) {}

  /**
   * Runs `statements` in a message of the board's turn, between the script's: the rows of each of
   * `statements`; null on the embedded database, where nothing is sent. The script must be the
   * same for every change of `board` (a message runs its first change's).
   */
  run(board: string, script: BoardScript, statements: Sql[]): Promise<Rows[] | null> {
    return new Promise((resolve, reject) => {
      const change = { script, statements, resolve, reject };
      const waiting = this.boards.get(board);
      if (waiting) waiting.push(change);
      else {
        this.boards.set(board, []);
        void this.turn(board, [change]);
      }
    });
  }

  private async turn(board: string, changes: Waiting[]): Promise<void> {
    let lost: unknown = null;
    try {
      lost = await this.send(changes);
    } finally {
      const waiting = this.boards.get(board)!;
      // With the database out of reach, each change waiting would only wait its own timeout in turn.
      if (lost) for (const change of waiting.splice(0)) change.reject(lost);
      const next = waiting.splice(0, MOST_PER_MESSAGE);
      if (next.length > 0) void this.turn(board, next);
      else this.boards.delete(board);
    }
  }

  /** Sends the changes in one message, settling each; the error if the database was out of reach. */
  private async send(changes: Waiting[]): Promise<unknown> {
    try {
      const { before, after } = changes[0]!.script;
      const rows = await withScriptConnection(this.orm, (db) =>
        db.run(...before, ...changes.flatMap((change) => change.statements), ...after),
      );
      let at = before.length;
      for (const change of changes) change.resolve(rows && rows.slice(at, (at += change.statements.length)));
      return null;
    } catch (error) {
      if (changes.length === 1 || isUnavailable(error)) {
        for (const change of changes) change.reject(error);
        return isUnavailable(error) ? error : null;
      }
      for (const [i, change] of changes.entries()) {
        const lost = await this.send([change]);
        if (lost) {
          for (const rest of changes.slice(i + 1)) rest.reject(lost);
          return lost;
        }
      }
      return null;
    }
  }
}

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
 * if the database cannot be reached, they all fail at once.
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
    try {
      await this.send(changes);
    } finally {
      const next = this.boards.get(board)!.splice(0, MOST_PER_MESSAGE);
      if (next.length > 0) void this.turn(board, next);
      else this.boards.delete(board);
    }
  }

  private async send(changes: Waiting[]): Promise<void> {
    try {
      const { before, after } = changes[0]!.script;
      const rows = await withScriptConnection(this.orm, (db) =>
        db.run(...before, ...changes.flatMap((change) => change.statements), ...after),
      );
      let at = before.length;
      for (const change of changes) change.resolve(rows && rows.slice(at, (at += change.statements.length)));
    } catch (error) {
      if (changes.length === 1 || isUnavailable(error)) for (const change of changes) change.reject(error);
      else for (const change of changes) await this.send([change]);
    }
  }
}

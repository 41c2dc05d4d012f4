import { DomainError, NO_ANSWER_IN_TIME } from './errors.js';

/**
 * At most `perKey` pieces of work of one key run at once on this node; the rest wait their turn,
 * in order, up to `maxWaiting` of them (`full`), holding nothing meanwhile. Its uses:
 * - an account's socket events and HTTP requests (a user's or an API key's, four at once,
 *   `account-lanes.ts`): one account's flood of joins or changes, from however many sockets and
 *   connections, can neither take every database connection the node has from everyone else nor
 *   pile up without bound;
 * - a board's general-path changes (one at a time, `commitBoardChange`): writers of one board
 *   queue on its `seq` row anyway, each holding a pooled connection while it waits, so many
 *   changes to one busy board, or a board whose row a long transaction holds, would take every
 *   connection of the pool, and every other board of the node would wait with them;
 * - a socket's presence updates (one at a time, `presence.handlers.ts`), so they land in the order sent.
 */
export class Lanes {
  private readonly lanes = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(
    private readonly perKey: number,
    private readonly maxWaiting = Infinity,
  ) {}

  /** Whether `key` already has `maxWaiting` pieces of work waiting for their turn. */
  full(key: string): boolean {
    return (this.lanes.get(key)?.waiting.length ?? 0) >= this.maxWaiting;
  }

  /**
   * Runs `work` in `key`'s lane: at once if it has room, else after those before it; not at all
   * (UNAVAILABLE, `noLongerWanted`) if no one `wanted` it any more when its turn came.
   */
  async run<T>(key: string, work: () => Promise<T>, wanted: StillWanted = ALWAYS_WANTED): Promise<T> {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { running: 0, waiting: [] }));
    if (lane.running < this.perKey) lane.running += 1;
    else await new Promise<void>((resolve) => lane.waiting.push(resolve));
    try {
      if (!wanted()) throw noLongerWanted();
      return await work();
    } finally {
      const next = lane.waiting.shift();
      if (next)
        next(); // the place passes to the next in line
      else if ((lane.running -= 1) === 0) this.lanes.delete(key);
    }
  }
}

/** Whether the one who asked for a piece of work still waits for its answer (a socket's join: not answered at its deadline, its socket still there). */
export type StillWanted = () => boolean;
const ALWAYS_WANTED: StillWanted = () => true;

/** Thrown, in place of running it, for work whose turn came when no one wanted it any more (its asker was answered UNAVAILABLE at the deadline, or went away). */
export const noLongerWanted = () => new DomainError(NO_ANSWER_IN_TIME.code, NO_ANSWER_IN_TIME.message);

/**
 * One lane for the whole node: at most `size` pieces of work at once, the rest waiting in order.
 * Its use: board reads (`AppContext.arrivals`). Work that no one wants any more when its turn
 * comes is skipped (`noLongerWanted`): a crowd whose joins were answered UNAVAILABLE at their
 * deadline, and which rejoins, would otherwise wait behind its own abandoned reads.
 */
export class Turns {
  private readonly lanes: Lanes;
  /** Each key's shared read that still waits for its turn, and whether each who shares it still wants it. */
  private readonly waiting = new Map<string, { read: Promise<unknown> | null; wanted: StillWanted[] }>();

  constructor(size: number) {
    this.lanes = new Lanes(size);
  }

  run<T>(work: () => Promise<T>, wanted: StillWanted = ALWAYS_WANTED): Promise<T> {
    return this.lanes.run('', work, wanted);
  }

  /**
   * `read` in its turn, shared by everyone who asks for the same key while it waits: they all
   * get its answer (or its error), and it runs if any of them still wants it. Once it has begun,
   * the next who asks waits for a read of their own, so no one is answered by a read that began
   * before they asked.
   */
  shared<T>(key: string, read: () => Promise<T>, wanted: StillWanted = ALWAYS_WANTED): Promise<T> {
    const queued = this.waiting.get(key);
    if (queued) {
      queued.wanted.push(wanted);
      return queued.read as Promise<T>;
    }
    const turn: { read: Promise<T> | null; wanted: StillWanted[] } = { read: null, wanted: [wanted] };
    this.waiting.set(key, turn); // before `run`, which begins at once when the lane has room
    turn.read = this.run(read, () => {
      if (this.waiting.get(key) === turn) this.waiting.delete(key);
      return turn.wanted.some((stillWanted) => stillWanted());
    });
    return turn.read;
  }
}

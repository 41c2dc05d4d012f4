/** The two ways a change reaches its board: the board's queue of one-message changes, or its turns on the general path. */
export type BoardPath = 'quick' | 'general';

/**
 * How a change takes its place: once the sender's earlier changes of `board` that went the other
 * way have ended, `enqueue` is called (it must take the change's place on its path before it
 * first waits: `BoardQueue.run`, `Lanes.run`), and its answer is the change's.
 */
export type Place = <T>(board: string, path: BoardPath, enqueue: () => Promise<T>) => Promise<T>;

interface Change {
  /** Where it took its place; unset until it did. */
  board?: string;
  path?: BoardPath;
  placed: boolean;
  /** The later changes of its sender waiting for it to take its place, or to end (made when one waits). */
  onPlaced?: Array<() => void>;
  onEnded?: Array<() => void>;
}

interface Sender {
  /** Its latest change, until that ends. */
  latest: Change | null;
  unended: Set<Change>;
}

/**
 * Keeps each socket's changes in the order it sent them, so that the last one it sent is the one
 * that stands ("last writer wins", DESIGN §7), however many it sends without waiting for their
 * answers (up to four of an account run at once: `account-lanes.ts`). A change finds its board
 * (`BoardLocator`, a database read when not cached) only once the sender's change before it has
 * taken its place, and takes its place on one of the board's two paths in that order. Each path
 * keeps the order it is given (a board's queue its messages, a board's turns their lane), but not
 * the other's, so a change that goes one way waits for the sender's earlier changes of the same
 * board that went the other way to end. Changes sent over HTTP wait for their answers, and carry
 * no sender here.
 *
 * Not kept: a change that the board's queue turns over to the general path (a stale `baseVersion`
 * to merge) may commit after the sender's later changes of that board, which were already queued.
 */
export class SenderOrder {
  private readonly senders = new Map<string, Sender>();

  /** Runs `work`, a change of `senderId`, which takes its place through `place` once, in the sender's order. */
  async inOrder<T>(senderId: string | undefined, work: (place: Place) => Promise<T>): Promise<T> {
    if (!senderId) return work((_board, _path, enqueue) => enqueue());
    let sender = this.senders.get(senderId);
    if (!sender) this.senders.set(senderId, (sender = { latest: null, unended: new Set() }));
    const { unended } = sender;
    const before = sender.latest;
    const change: Change = { placed: false };
    sender.latest = change;
    unended.add(change);
    const takePlace = <R>(enqueue: () => Promise<R>): Promise<R> => {
      const answer = enqueue();
      whenPlaced(change);
      return answer;
    };
    try {
      if (before && !before.placed) await new Promise<void>((resolve) => (before.onPlaced ??= []).push(resolve));
      return await work((board, path, enqueue) => {
        const otherWay = [...unended].filter((earlier) => earlier.board === board && earlier.path !== undefined && earlier.path !== path);
        change.board = board;
        change.path = path;
        if (otherWay.length === 0) return takePlace(enqueue);
        const ended = otherWay.map((earlier) => new Promise<void>((resolve) => (earlier.onEnded ??= []).push(resolve)));
        return Promise.all(ended).then(() => takePlace(enqueue));
      });
    } finally {
      whenPlaced(change);
      for (const next of change.onEnded ?? []) next();
      unended.delete(change);
      if (sender.latest === change) sender.latest = null;
      if (unended.size === 0) this.senders.delete(senderId);
    }
  }
}

/** Marks `change` as having taken its place (once), letting the sender's next change go on. */
function whenPlaced(change: Change): void {
  if (change.placed) return;
  change.placed = true;
  for (const next of change.onPlaced ?? []) next();
}

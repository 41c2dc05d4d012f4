/**
 * The changes with a `clientMutationId` still running on this node. A retry that arrives while
 * its first try still runs (the client had its answer `UNAVAILABLE` at the deadline, or lost it
 * with its connection) waits for that try's result instead of running the change again: a board
 * whose row is held for long does not pile up copies of one change, each holding a database
 * connection. Only the same principal's retry of the same change joins it.
 */
export class RunningChanges {
  private readonly running = new Map<string, Promise<unknown>>();

  /** `run`'s result; or, while a run with the same `key` is under way, that run's. */
  once<T>(key: string | null, run: () => Promise<T>): Promise<T> {
    if (key === null) return run();
    const earlier = this.running.get(key);
    if (earlier) return earlier as Promise<T>;
    const started = run().finally(() => this.running.delete(key));
    this.running.set(key, started);
    return started;
  }
}

import { DomainError } from './errors.js';

/** The refusal of work that comes once the server has begun to stop: a client retries it elsewhere. */
export const shuttingDown = () => new DomainError('UNAVAILABLE', 'the server is shutting down; try again');

/**
 * The socket events and HTTP requests under way, so that a stop can carry them through and answer
 * them before it closes anything (`drain`). Work that comes once the stop has begun is not let in.
 */
export class InFlight {
  private running = 0;
  private stopping = false;
  private turnedAway = 0;
  private settled: (() => void) | null = null;

  /** How many pieces of work are under way. */
  get size(): number {
    return this.running;
  }

  /** How many pieces of work came once the stop had begun, and were not let in. */
  get refused(): number {
    return this.turnedAway;
  }

  /** Counts a piece of work in; false, counting it as refused, once the stop has begun. */
  enter(): boolean {
    if (this.stopping) {
      this.turnedAway += 1;
      return false;
    }
    this.running += 1;
    return true;
  }

  /** Counts a piece of work out, once it is answered. */
  leave(): void {
    this.running -= 1;
    if (this.running === 0) this.settled?.();
  }

  /** Lets no more work in; resolves true once the work under way is answered, false if some is not after `withinMs`. */
  async drain(withinMs: number): Promise<boolean> {
    this.stopping = true;
    if (this.running === 0) return true;
    return new Promise<boolean>((resolve) => {
      this.settled = () => resolve(true);
      setTimeout(() => resolve(this.running === 0), withinMs).unref();
    });
  }
}

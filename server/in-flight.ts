import type { WireError } from '../shared/errors.js';
import { DomainError, toWireError } from './errors.js';

/** The refusal of work that comes once the server has begun to stop: a client retries it elsewhere. */
export const shuttingDown = () => new DomainError('UNAVAILABLE', 'the server is shutting down; try again');
/** `shuttingDown` as an answer on the wire. */
export const SHUTTING_DOWN: WireError = toWireError(shuttingDown()).error;

/**
 * The socket events and HTTP requests under way, so that a stop can carry them through and answer
 * them before it closes anything (`drain`). Work that comes once the stop has begun is not let in.
 */
export class InFlight {
  private running = 0;
  private stopping = false;
  private settled: (() => void) | null = null;
  /** How to answer each piece of work under way at once, should the stop's wait for it run out. */
  private readonly answersNow = new Set<() => void>();

  /** How many pieces of work are under way. */
  get size(): number {
    return this.running;
  }

  /**
   * Counts a piece of work in, with how to answer it UNAVAILABLE at once (`shuttingDown`) should
   * the stop's wait for it run out; answers how to count it out once it is answered, or null,
   * counting nothing, once the stop has begun.
   */
  enter(answerNow: () => void): (() => void) | null {
    if (this.stopping) return null;
    this.running += 1;
    this.answersNow.add(answerNow);
    return () => {
      this.answersNow.delete(answerNow);
      this.running -= 1;
      if (this.running === 0) this.settled?.();
    };
  }

  /**
   * Lets no more work in; resolves once the work under way is answered, or after `withinMs`, when
   * what is still under way is answered UNAVAILABLE at once (its change may still commit: it is in
   * the log for its retry), so that no connection closes on an unanswered ack or request.
   */
  async drain(withinMs: number): Promise<void> {
    this.stopping = true;
    if (this.running === 0) return;
    const settled = await new Promise<boolean>((resolve) => {
      this.settled = () => resolve(true);
      setTimeout(() => resolve(false), withinMs).unref();
    });
    if (settled) return;
    for (const answerNow of [...this.answersNow]) answerNow();
    await new Promise((resolve) => setImmediate(resolve)); // the answers are handed to their connections
  }
}

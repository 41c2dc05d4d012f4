/** How the throughput scenario looks for its max rate. */
export interface RateSearchOptions {
  startRate: number;
  growth: number;
  maxSteps: number;
  /** Bisections between the last rate that passed and the first that failed. */
  refinements: number;
  /** The lowest rate worth trying when even the start rate fails. */
  minRate: number;
}

/** A rate passed or failed, or was set aside because the machine stalled (neither). */
export type RateVerdict<T extends { rate: number; passed: boolean }> = T | 'stalled';

/**
 * The highest rate that passes: up from the start rate by `growth` until one fails; when the first
 * fails, down by halves until one passes; then bisections between the two. A rate set aside counts
 * as neither, so a stall can only leave the max rate lower, never higher, and never ends the search.
 */
export async function searchMaxRate<T extends { rate: number; passed: boolean }>(
  tryRate: (rate: number) => Promise<RateVerdict<T>>,
  options: RateSearchOptions,
): Promise<{ best: T | null; limit: T | null }> {
  const found: { best: T | null; limit: T | null } = { best: null, limit: null };
  const attempt = async (rate: number) => {
    const done = await tryRate(rate);
    if (done !== 'stalled') found[done.passed ? 'best' : 'limit'] = done;
  };
  let rate = options.startRate;
  for (let s = 0; s < options.maxSteps && !found.limit; s += 1) {
    await attempt(rate);
    rate *= options.growth;
  }
  for (let s = 0; s < 3 && !found.best && found.limit && found.limit.rate / 2 >= options.minRate; s += 1)
    await attempt(found.limit.rate / 2);
  for (let s = 0; s < options.refinements && found.best && found.limit && found.limit.rate / found.best.rate > 1.08; s += 1)
    await attempt(Math.sqrt(found.best.rate * found.limit.rate));
  return found;
}

import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from './errors.js';

/**
 * A limit of `points` per key in each window of `windowSeconds`, counted in Redis where there is
 * one (so every node counts together; while Redis is away each node counts on its own) or in
 * memory.
 */
export function rateLimit(redis: Redis | null, name: string, points: number, windowSeconds: number): RateLimiterAbstract {
  const options = { keyPrefix: `taskflow:${name}`, points, duration: windowSeconds };
  const memory = new RateLimiterMemory(options);
  return redis ? new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: memory }) : memory;
}

/**
 * Takes a point from each limit for its key, in turn, all or none: at the first that refuses,
 * those before it get theirs back, the ones after it are not asked, and RATE_LIMITED (429 with
 * Retry-After) is thrown. So a refusal by a limit named first (an IP's) leaves nothing under the
 * keys after it, which a client chooses (an email: each kept for the whole window, a flood of
 * refused logins with a new address each would fill memory or Redis). A store that failed is
 * thrown as it is.
 */
export async function consumeAll(takes: Array<[RateLimiterAbstract, string]>, message: string): Promise<void> {
  for (const [i, [limit, key]] of takes.entries()) {
    try {
      await limit.consume(key);
    } catch (refused) {
      await Promise.all(takes.slice(0, i).map(([taken, takenKey]) => taken.reward(takenKey)));
      if (!(refused instanceof RateLimiterRes)) throw refused;
      throw new DomainError('RATE_LIMITED', message, { retryAfterSeconds: Math.max(1, Math.ceil(refused.msBeforeNext / 1000)) });
    }
  }
}

/** Takes a point from `limit` for `key`: false when the limit refuses it. A store that failed is thrown as it is. */
export async function tryConsume(limit: RateLimiterAbstract, key: string): Promise<boolean> {
  try {
    await limit.consume(key);
    return true;
  } catch (refused) {
    if (refused instanceof RateLimiterRes) return false;
    throw refused;
  }
}

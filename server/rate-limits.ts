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
 * Takes a point from each limit for its key, all or none: when any refuses, those that gave one
 * get it back, and RATE_LIMITED (429 with Retry-After, waiting for the longest) is thrown. A
 * store that failed is thrown as it is.
 */
export async function consumeAll(takes: Array<[RateLimiterAbstract, string]>, message: string): Promise<void> {
  const results = await Promise.allSettled(takes.map(([limit, key]) => limit.consume(key)));
  const refused = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  if (refused.length === 0) return;
  const store = refused.find((reason) => !(reason instanceof RateLimiterRes));
  if (store) throw store;
  await Promise.all(takes.map(([limit, key], i) => (results[i]!.status === 'fulfilled' ? limit.reward(key) : undefined)));
  const retryAfterSeconds = Math.max(1, ...(refused as RateLimiterRes[]).map((res) => Math.ceil(res.msBeforeNext / 1000)));
  throw new DomainError('RATE_LIMITED', message, { retryAfterSeconds });
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

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

/** RATE_LIMITED (429 with Retry-After) for the limits that refused, waiting for the longest. */
export function rateLimited(message: string, refused: RateLimiterRes[]): DomainError {
  const retryAfterSeconds = Math.max(1, ...refused.map((res) => Math.ceil(res.msBeforeNext / 1000)));
  return new DomainError('RATE_LIMITED', message, { retryAfterSeconds });
}

import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, type RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from '../errors.js';

/** Failed logins allowed per account, and per IP, in each window. */
export const LOGIN_LIMITS = { perAccount: 10, perIp: 50, windowSeconds: 15 * 60 };

export interface LoginThrottle {
  /** RATE_LIMITED (429 with Retry-After) while the account or the IP has used up its failures. */
  check(email: string, ip: string): Promise<void>;
  failed(email: string, ip: string): Promise<void>;
  succeeded(email: string): Promise<void>;
}

/**
 * Counts failed logins per account and per IP, in Redis where there is one (so every node
 * counts together; while Redis is away each node counts on its own) or in memory. An unknown
 * email is counted like a known one, so the answer reveals nothing about which emails exist.
 */
export function createLoginThrottle(redis: Redis | null): LoginThrottle {
  const limiter = (name: string, points: number): RateLimiterAbstract => {
    const options = { keyPrefix: `taskflow:login:${name}`, points, duration: LOGIN_LIMITS.windowSeconds };
    const memory = new RateLimiterMemory(options);
    return redis ? new RateLimiterRedis({ ...options, storeClient: redis, insuranceLimiter: memory }) : memory;
  };
  const perAccount = limiter('account', LOGIN_LIMITS.perAccount);
  const perIp = limiter('ip', LOGIN_LIMITS.perIp);
  const account = (email: string) => email.toLowerCase();

  return {
    async check(email, ip) {
      const [byAccount, byIp] = await Promise.all([perAccount.get(account(email)), perIp.get(ip)]);
      const spent = [
        [byAccount, LOGIN_LIMITS.perAccount],
        [byIp, LOGIN_LIMITS.perIp],
      ].filter(([res, points]) => res && (res as RateLimiterRes).consumedPoints >= (points as number));
      if (spent.length === 0) return;
      const retryAfterSeconds = Math.max(1, ...spent.map(([res]) => Math.ceil((res as RateLimiterRes).msBeforeNext / 1000)));
      throw new DomainError('RATE_LIMITED', 'too many failed logins; try again later', { retryAfterSeconds });
    },
    async failed(email, ip) {
      await Promise.all([perAccount.penalty(account(email)), perIp.penalty(ip)]);
    },
    async succeeded(email) {
      await perAccount.delete(account(email));
    },
  };
}

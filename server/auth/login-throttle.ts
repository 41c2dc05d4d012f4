import type { Redis } from 'ioredis';
import { type RateLimiterAbstract, RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { DomainError } from '../errors.js';

/** Failed logins allowed per account, and per IP, in each window. */
export const LOGIN_LIMITS = { perAccount: 10, perIp: 50, windowSeconds: 15 * 60 };

export interface LoginThrottle {
  /**
   * Takes one attempt from the account and from the IP, before the password is judged, as a
   * failure until told otherwise: RATE_LIMITED (429 with Retry-After) when either has used up
   * its failures. Taken before the slow hash, atomically, so parallel guesses cannot all pass.
   */
  attempt(email: string, ip: string): Promise<void>;
  /** The password was right: the account's failures are forgotten, and the IP gets its attempt back. */
  succeeded(email: string, ip: string): Promise<void>;
  /** The attempt could not be judged (the database failed): both get it back. */
  undo(email: string, ip: string): Promise<void>;
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
    async attempt(email, ip) {
      const [byAccount, byIp] = await Promise.allSettled([perAccount.consume(account(email)), perIp.consume(ip)]);
      const refused = [byAccount, byIp].flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
      if (refused.length === 0) return;
      const store = refused.find((reason) => !(reason instanceof RateLimiterRes));
      if (store) throw store;
      // A refused attempt is not a failed login: the limit that let it through gets it back.
      if (byAccount.status === 'fulfilled') await perAccount.reward(account(email));
      if (byIp.status === 'fulfilled') await perIp.reward(ip);
      const retryAfterSeconds = Math.max(1, ...(refused as RateLimiterRes[]).map((res) => Math.ceil(res.msBeforeNext / 1000)));
      throw new DomainError('RATE_LIMITED', 'too many failed logins; try again later', { retryAfterSeconds });
    },
    async succeeded(email, ip) {
      await Promise.all([perAccount.delete(account(email)), perIp.reward(ip)]);
    },
    async undo(email, ip) {
      await Promise.all([perAccount.reward(account(email)), perIp.reward(ip)]);
    },
  };
}

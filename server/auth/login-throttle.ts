import type { Redis } from 'ioredis';
import { consumeAll, rateLimit } from '../rate-limits.js';

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
  /** The account's owner showed they read its mailbox (a password reset): its failures are forgotten. */
  forgive(email: string): Promise<void>;
}

/**
 * Counts failed logins per account and per IP (`rateLimit`: in Redis where there is one). An unknown
 * email is counted like a known one, so the answer reveals nothing about which emails exist.
 */
export function createLoginThrottle(redis: Redis | null): LoginThrottle {
  const perAccount = rateLimit(redis, 'login:account', LOGIN_LIMITS.perAccount, LOGIN_LIMITS.windowSeconds);
  const perIp = rateLimit(redis, 'login:ip', LOGIN_LIMITS.perIp, LOGIN_LIMITS.windowSeconds);
  const account = (email: string) => email.toLowerCase();

  return {
    async attempt(email, ip) {
      // A refused attempt is not a failed login: the limit that let it through gets it back. The
      // IP's first: an address past its limit adds no key for each email it tries.
      await consumeAll(
        [
          [perIp, ip],
          [perAccount, account(email)],
        ],
        'too many failed logins; try again later',
      );
    },
    async succeeded(email, ip) {
      await Promise.all([perAccount.delete(account(email)), perIp.reward(ip)]);
    },
    async undo(email, ip) {
      await Promise.all([perAccount.reward(account(email)), perIp.reward(ip)]);
    },
    async forgive(email) {
      await perAccount.delete(account(email));
    },
  };
}

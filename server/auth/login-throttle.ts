import type { Redis } from 'ioredis';
import { consumeAll, rateLimit } from '../rate-limits.js';

/**
 * Failed logins allowed in each window: per account from one address, per address over all
 * accounts, and per account over all addresses. The first is what stops a guesser; the last only
 * bounds guessing spread over many addresses, so that one address cannot lock an account's owner
 * out (it spends at most `perAccountFromIp` of the account's `perAccount`).
 */
export const LOGIN_LIMITS = { perAccountFromIp: 10, perIp: 50, perAccount: 100, windowSeconds: 15 * 60 };

export interface LoginThrottle {
  /**
   * Takes one attempt from the account, the address and the pair of them, before the password is
   * judged, as a failure until told otherwise: RATE_LIMITED (429 with Retry-After) when any has
   * used up its failures. Taken before the slow hash, atomically, so parallel guesses cannot all pass.
   */
  attempt(email: string, ip: string): Promise<void>;
  /** The password was right: the account's failures are forgotten, and the address gets its attempt back. */
  succeeded(email: string, ip: string): Promise<void>;
  /** The attempt could not be judged (the database failed): each limit gets it back. */
  undo(email: string, ip: string): Promise<void>;
  /**
   * The account's owner showed they read its mailbox (a password reset, from `ip`): the account's
   * failures are forgotten, over all addresses and from that one.
   */
  forgive(email: string, ip: string): Promise<void>;
}

/**
 * Counts failed logins per account and address (`rateLimit`: in Redis where there is one). An
 * unknown email is counted like a known one, so the answer reveals nothing about which emails exist.
 */
export function createLoginThrottle(redis: Redis | null): LoginThrottle {
  const { perAccountFromIp, perIp, perAccount, windowSeconds } = LOGIN_LIMITS;
  const accountFromIpLimit = rateLimit(redis, 'login:account-ip', perAccountFromIp, windowSeconds);
  const ipLimit = rateLimit(redis, 'login:ip', perIp, windowSeconds);
  const accountLimit = rateLimit(redis, 'login:account', perAccount, windowSeconds);
  const account = (email: string) => email.toLowerCase();
  // An address holds no '/', so the pair's key reads one way only.
  const accountFromIp = (email: string, ip: string) => `${ip}/${account(email)}`;

  return {
    async attempt(email, ip) {
      // A refused attempt is not a failed login: the limits that let it through get it back. The
      // address's first: an address past its limit adds no key for each email it tries.
      await consumeAll(
        [
          [ipLimit, ip],
          [accountFromIpLimit, accountFromIp(email, ip)],
          [accountLimit, account(email)],
        ],
        'too many failed logins; try again later',
      );
    },
    async succeeded(email, ip) {
      await Promise.all([accountFromIpLimit.delete(accountFromIp(email, ip)), accountLimit.delete(account(email)), ipLimit.reward(ip)]);
    },
    async undo(email, ip) {
      await Promise.all([accountFromIpLimit.reward(accountFromIp(email, ip)), accountLimit.reward(account(email)), ipLimit.reward(ip)]);
    },
    async forgive(email, ip) {
      await Promise.all([accountFromIpLimit.delete(accountFromIp(email, ip)), accountLimit.delete(account(email))]);
    },
  };
}

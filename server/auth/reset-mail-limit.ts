import type { Redis } from 'ioredis';
import { consumeAll, rateLimit, tryConsume } from '../rate-limits.js';

/** Password-reset requests each hour: per IP, and mails per address. */
export const RESET_LIMITS = { perIp: 20, perAddress: 3, windowSeconds: 60 * 60 };

export interface ResetMailLimit {
  /**
   * Takes one request from the IP's allowance (RATE_LIMITED when it is used up), then answers
   * whether the address may be mailed, by its own allowance; when not, nothing is sent.
   */
  take(ip: string, email: string): Promise<{ mail: boolean }>;
}

/**
 * Keeps the server from being made to mail an address again and again, and from being asked
 * about addresses in bulk. The address's limit never refuses the request, only holds its mail
 * back: the answer is the same whether the address has an account, was mailed enough, or neither.
 */
export function createResetMailLimit(redis: Redis | null): ResetMailLimit {
  const perIp = rateLimit(redis, 'reset:ip', RESET_LIMITS.perIp, RESET_LIMITS.windowSeconds);
  const perAddress = rateLimit(redis, 'reset:address', RESET_LIMITS.perAddress, RESET_LIMITS.windowSeconds);
  return {
    async take(ip, email) {
      await consumeAll([[perIp, ip]], 'too many password-reset requests; try again later');
      return { mail: await tryConsume(perAddress, email.toLowerCase()) };
    },
  };
}

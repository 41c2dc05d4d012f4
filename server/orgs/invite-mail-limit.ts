import type { Redis } from 'ioredis';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { rateLimit, rateLimited } from '../rate-limits.js';

/** Invitation mails allowed per org, and per recipient address from all orgs together, each hour. */
export const INVITE_MAIL_LIMITS = { perOrg: 50, perRecipient: 3, windowSeconds: 60 * 60 };

export interface InviteMailLimit {
  /** Takes one mail from the org's allowance and the address's: RATE_LIMITED when either is used up. */
  take(orgId: string, email: string): Promise<void>;
}

/**
 * Keeps the server from being made to mail anyone, as often as one likes: anybody can create an
 * org and invite any address, and each invitation sends a mail whose subject names the org.
 */
export function createInviteMailLimit(redis: Redis | null): InviteMailLimit {
  const perOrg = rateLimit(redis, 'invite:org', INVITE_MAIL_LIMITS.perOrg, INVITE_MAIL_LIMITS.windowSeconds);
  const perRecipient = rateLimit(redis, 'invite:recipient', INVITE_MAIL_LIMITS.perRecipient, INVITE_MAIL_LIMITS.windowSeconds);
  return {
    async take(orgId, email) {
      const [byOrg, byRecipient] = await Promise.allSettled([perOrg.consume(orgId), perRecipient.consume(email.toLowerCase())]);
      const refused = [byOrg, byRecipient].flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
      if (refused.length === 0) return;
      const store = refused.find((reason) => !(reason instanceof RateLimiterRes));
      if (store) throw store;
      // A refused invitation sends nothing: the limit that let it through gets its mail back.
      if (byOrg.status === 'fulfilled') await perOrg.reward(orgId);
      if (byRecipient.status === 'fulfilled') await perRecipient.reward(email.toLowerCase());
      throw rateLimited('too many invitation mails; try again later', refused as RateLimiterRes[]);
    },
  };
}

import type { Redis } from 'ioredis';
import { consumeAll, rateLimit } from '../rate-limits.js';

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
      // A refused invitation sends nothing: the limit that let it through gets its mail back.
      await consumeAll(
        [
          [perOrg, orgId],
          [perRecipient, email.toLowerCase()],
        ],
        'too many invitation mails; try again later',
      );
    },
  };
}

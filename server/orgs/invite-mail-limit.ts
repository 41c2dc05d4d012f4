import type { Redis } from 'ioredis';
import { consumeAll, rateLimit, tryConsume } from '../rate-limits.js';

/**
 * Invitation mails each hour: per org, per recipient address from one org, per inviter (a user
 * from all the orgs they administer), and per recipient address from all orgs together.
 */
export const INVITE_MAIL_LIMITS = { perOrg: 50, perOrgRecipient: 3, perInviter: 50, perRecipient: 10, windowSeconds: 60 * 60 };

export interface InviteMailLimit {
  /**
   * Takes one invitation from the org's allowance, its allowance for the address and the
   * inviter's (`inviterId`, a user's id or a key's): RATE_LIMITED when any is used up. Then
   * answers whether the address may be mailed, by its allowance from all orgs; when not, the
   * invitation stands without a mail.
   */
  take(orgId: string, email: string, inviterId: string): Promise<{ mail: boolean }>;
}

/**
 * Keeps the server from being made to mail anyone, as often as one likes: anybody can create an
 * org and invite any address, and each invitation sends a mail whose subject names the org. An
 * org's own invitations are refused past its limits, and so are an inviter's from all their orgs
 * (one account that makes orgs would otherwise mail 50 more addresses an hour with each); the limit of an address from all orgs
 * together only holds its mail back, so that no org can keep another from inviting someone by
 * inviting them first, again and again.
 */
export function createInviteMailLimit(redis: Redis | null): InviteMailLimit {
  const { perOrg, perOrgRecipient, perInviter, perRecipient, windowSeconds } = INVITE_MAIL_LIMITS;
  const fromOrg = rateLimit(redis, 'invite:org', perOrg, windowSeconds);
  const fromOrgTo = rateLimit(redis, 'invite:org-recipient', perOrgRecipient, windowSeconds);
  const fromInviter = rateLimit(redis, 'invite:inviter', perInviter, windowSeconds);
  const toRecipient = rateLimit(redis, 'invite:recipient', perRecipient, windowSeconds);
  return {
    async take(orgId, email, inviterId) {
      const address = email.toLowerCase();
      // A refused invitation sends nothing: the limit that let it through gets its mail back.
      await consumeAll(
        [
          [fromInviter, inviterId],
          [fromOrg, orgId],
          [fromOrgTo, `${orgId}:${address}`], // last: keyed by an address the inviter chooses
        ],
        'too many invitation mails; try again later',
      );
      return { mail: await tryConsume(toRecipient, address) };
    },
  };
}

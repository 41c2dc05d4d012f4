import { type Capability, KEY_PERMISSION, type Role, roleCan } from '../../shared/roles.js';
import type { Principal } from '../auth/principal.js';
import type { Standing } from '../db/tenant.js';
import { AccessLost, DomainError, forbidden, sessionEnded } from '../errors.js';

/** What a principal may be inside an org: a member with a role, or a bot of the org. */
export type Access = { kind: 'user'; role: Role } | { kind: 'bot' };

/**
 * Checks a capability against the principal's standing in the org, as the tenant transaction
 * read it from the database (never from the token): a user's membership role, in a session not
 * ended since their token was signed; a bot's key, still live and of this org, and its permissions. A non-member gets what `outsider` makes: 403 where the
 * org is named by its slug, and where only an id names the thing, the same 404 as for an id that
 * does not exist.
 */
export function authorize(
  standing: Standing,
  principal: Principal,
  orgId: string,
  capability: Capability,
  outsider: () => DomainError,
): Access {
  if (principal.kind === 'bot') {
    if (principal.orgId !== orgId) throw outsider();
    const key = standing.kind === 'bot' ? standing.key : null;
    if (!key || key.revoked) throw new AccessLost(new DomainError('UNAUTHORIZED', 'the API key was revoked'), orgId, 'key_revoked');
    // Its sockets are ended as when their expiry comes (`credential-expiry.ts`), which this can be first to find.
    if (key.expired) throw new AccessLost(new DomainError('UNAUTHORIZED', 'the API key has expired'), orgId, 'token_expired');
    const needed = KEY_PERMISSION[capability];
    if (!needed || !key.permissions.includes(needed)) throw forbidden(needed ? `the API key lacks ${needed}` : 'an API key cannot do this');
    return { kind: 'bot' };
  }
  if (standing.kind === 'user' && standing.sessionEnded) throw new AccessLost(sessionEnded(), orgId, 'signed_out');
  const role = standing.kind === 'user' ? standing.role : null;
  if (!role) throw new AccessLost(outsider(), orgId, 'removed');
  if (!roleCan(role, capability)) throw forbidden(`the ${role} role may not do this`);
  return { kind: 'user', role };
}

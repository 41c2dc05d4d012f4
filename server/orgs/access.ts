import type { EntityManager } from '@mikro-orm/postgresql';
import { type Capability, KEY_PERMISSION, type Role, roleCan } from '../../shared/roles.js';
import { ApiKey } from '../api-keys/api-key.entity.js';
import type { Principal } from '../auth/principal.js';
import { AccessLost, DomainError, forbidden } from '../errors.js';
import { Membership } from './membership.entity.js';

/** What a principal may be inside an org: a member with a role, or a bot of the org. */
export type Access = { kind: 'user'; role: Role } | { kind: 'bot' };

/**
 * Reads the principal's standing in the current tenant from the database (never from the token)
 * and checks the capability: a user's role from their membership; a bot's key, still live and
 * of this org, and its permissions. Call it inside `inTenant(orgId)`. A non-member gets
 * `outsider`: 403 where the org is named by its slug, and where only an id names the thing, the
 * same 404 as for an id that does not exist.
 */
export async function authorize(
  em: EntityManager,
  principal: Principal,
  orgId: string,
  capability: Capability,
  outsider: DomainError,
): Promise<Access> {
  if (principal.kind === 'bot') {
    if (principal.orgId !== orgId) throw outsider;
    const key = await em.findOne(ApiKey, { id: principal.keyId }, { fields: ['revokedAt', 'expiresAt', 'permissions'] });
    if (!key || key.revokedAt || (key.expiresAt && key.expiresAt <= new Date())) {
      throw new AccessLost(new DomainError('UNAUTHORIZED', 'the API key was revoked'), orgId, 'key_revoked');
    }
    const needed = KEY_PERMISSION[capability];
    if (!needed || !key.permissions.includes(needed)) throw forbidden(needed ? `the API key lacks ${needed}` : 'an API key cannot do this');
    return { kind: 'bot' };
  }
  const membership = await em.findOne(Membership, { user: principal.userId }, { fields: ['role'] });
  if (!membership) throw new AccessLost(outsider, orgId, 'removed');
  if (!roleCan(membership.role, capability)) throw forbidden(`the ${membership.role} role may not do this`);
  return { kind: 'user', role: membership.role };
}

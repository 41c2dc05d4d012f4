import type { EntityManager } from '@mikro-orm/postgresql';
import { type Capability, type Role, roleCan } from '../../shared/roles.js';
import type { Principal } from '../auth/principal.js';
import { DomainError } from '../errors.js';
import { Membership } from './membership.entity.js';

/**
 * Reads the principal's role in the current tenant from the database (never from the token) and
 * checks the capability. Call it inside `inTenant`, so the filter scopes the lookup to that org.
 * A non-member gets `outsider`: 403 where the org is named by its slug, and where only an id
 * names the thing, the same 404 as for an id that does not exist.
 */
export async function authorize(em: EntityManager, principal: Principal, capability: Capability, outsider: DomainError): Promise<Role> {
  const membership = await em.findOne(Membership, { user: principal.userId }, { fields: ['role'] });
  if (!membership) throw outsider;
  if (!roleCan(membership.role, capability)) {
    throw new DomainError('FORBIDDEN', `the ${membership.role} role may not do this`);
  }
  return membership.role;
}

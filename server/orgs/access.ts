import type { EntityManager } from '@mikro-orm/postgresql';
import { type Capability, type Role, roleCan } from '../../shared/roles.js';
import type { Principal } from '../auth/principal.js';
import { DomainError } from '../errors.js';
import { Membership } from './membership.entity.js';

/**
 * How a refusal reads to someone outside the org: on routes named by an org's slug the org is
 * known to exist (403), while a project or task id must not reveal that it exists (404).
 */
export type OutsiderAnswer = 'FORBIDDEN' | 'NOT_FOUND';

/**
 * Reads the principal's role in the current tenant from the database (never from the token) and
 * checks the capability. Call it inside `inTenant`, so the filter scopes the lookup to that org.
 */
export async function authorize(em: EntityManager, principal: Principal, capability: Capability, outsider: OutsiderAnswer): Promise<Role> {
  const membership = await em.findOne(Membership, { user: principal.userId }, { fields: ['role'] });
  if (!membership) {
    throw outsider === 'NOT_FOUND'
      ? new DomainError('NOT_FOUND', 'not found')
      : new DomainError('FORBIDDEN', 'not a member of this organization');
  }
  if (!roleCan(membership.role, capability)) {
    throw new DomainError('FORBIDDEN', `the ${membership.role} role may not do this`);
  }
  return membership.role;
}

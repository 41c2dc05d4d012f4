import type { EntityManager } from '@mikro-orm/postgresql';
import type { Capability } from '../../shared/roles.js';
import { storable } from '../../shared/schemas.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { inTenant } from '../db/tenant.js';
import { notAMember, notFound } from '../errors.js';
import { type Access, authorize } from './access.js';
import { type IOrganization, Organization } from './organization.entity.js';

export interface OrgScope {
  em: EntityManager;
  org: IOrganization;
  access: Access;
}

/** The org's id for a slug: 404 for an unknown slug, before any membership is checked. */
export async function orgIdBySlug(ctx: AppContext, slug: string): Promise<string> {
  if (!storable(slug)) throw notFound('organization'); // no org has it, and PostgreSQL could not read it
  const rows = await ctx.orm.em.getConnection().execute<Array<{ id: string }>>('select id from organizations where slug = ?', [slug]);
  if (!rows[0]) throw notFound('organization');
  return rows[0].id;
}

/**
 * Runs `work` inside the org named by `slug`, in one tenant transaction, once the principal's
 * role there (read from the database) holds `capability`; a non-member gets 403.
 */
export async function withOrg<T>(
  ctx: AppContext,
  principal: Principal,
  slug: string,
  capability: Capability,
  work: (scope: OrgScope) => Promise<T>,
): Promise<T> {
  const orgId = await orgIdBySlug(ctx, slug);
  return inTenant(
    ctx.orm,
    orgId,
    async (em, standing) => {
      // An org deleted since its slug was read is gone for its members too, as it is a moment later.
      const org = await em.findOne(Organization, orgId);
      if (!org) throw notFound('organization');
      const access = authorize(standing, principal, orgId, capability, notAMember);
      return work({ em, org, access });
    },
    principal,
  );
}

import type { EntityManager } from '@mikro-orm/postgresql';
import type { Capability } from '../../shared/roles.js';
import { storable } from '../../shared/schemas.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { inTenant } from '../db/tenant.js';
import { DEADLOCK, notAMember, notFound, sqlState } from '../errors.js';
import { type Access, authorize } from './access.js';
import { type IOrganization, Organization } from './organization.entity.js';

/**
 * What an admin does that outlives their time as one (an invitation, a role given, a key made):
 * it holds their membership until it commits (`withOrg`). Not an owner's deletion of the org,
 * which several owners may send at once, and which takes every membership with it.
 */
const HELD = new Set<Capability>(['members:manage', 'org:admin']);

/** How often an org's transaction runs in all when PostgreSQL ends a deadlock with it (`withOrg`). */
const DEADLOCK_TRIES = 3;

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
 * role there (read from the database) holds `capability`; a non-member gets 403. An admin's
 * action (`HELD`) holds their membership until it commits (`inTenant`'s `held`): their removal
 * or demotion meanwhile waits for it and then finds what it did (an invitation they sent, to
 * revoke), or comes first and refuses it. A transaction that deadlocks with another (an owner
 * leaving while other owners change each other, say) runs again, up to `DEADLOCK_TRIES` times in
 * all: it was rolled back whole (of what `work` does outside the database, only an invitation's
 * mail allowance is taken again). Work that tells others of what it wrote before it commits
 * (a label's deletion takes its boards' seqs in `eventOrder`) asks for one try (`once`).
 */
export async function withOrg<T>(
  ctx: AppContext,
  principal: Principal,
  slug: string,
  capability: Capability,
  work: (scope: OrgScope) => Promise<T>,
  { once = false }: { once?: boolean } = {},
): Promise<T> {
  const orgId = await orgIdBySlug(ctx, slug);
  const held = HELD.has(capability);
  for (let tried = 1; ; tried++) {
    try {
      return await inTenant(
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
        held,
      );
    } catch (error) {
      // Owners and admins acting on each other at once (removals, role changes, leaving), each
      // holding rows the other wants: PostgreSQL ended the deadlock by rolling this one back, whole.
      if (once || tried === DEADLOCK_TRIES || sqlState(error) !== DEADLOCK) throw error;
    }
  }
}

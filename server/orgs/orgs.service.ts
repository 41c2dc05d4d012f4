import { randomBytes, randomUUID } from 'node:crypto';
import { slugOfName } from '../../shared/slugs.js';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { type Role, roleCan } from '../../shared/roles.js';
import type { OrgAdminJson, OrgJson, Plan } from '../../shared/wire.js';
import { ApiKey } from '../api-keys/api-key.entity.js';
import { audit } from '../audit/audit.service.js';
import type { Caller } from '../auth/caller.js';
import { requireUser } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { inTenant } from '../db/tenant.js';
import { conflict, forbidden, notFound } from '../errors.js';
import { Project } from '../projects/project.entity.js';
import { User } from '../users/user.entity.js';
import { Membership } from './membership.entity.js';
import { toOrgAdminJson, toOrgJson } from './org.json.js';
import { withOrg } from './org-scope.js';
import { Organization } from './organization.entity.js';
import { commitAccessChange } from '../realtime/access-change.js';

/**
 * Creates an org with the caller as its owner and billing contact. Without a slug, one is made
 * from the name (`Acme Platform` is `acme-platform`), with six random hex digits after it when
 * that is taken.
 */
export async function createOrg(
  ctx: AppContext,
  caller: Caller,
  input: { name: string; slug?: string },
): Promise<{ org: OrgAdminJson; role: Role }> {
  const principal = requireUser(caller.principal);
  const made = (slug: string) => {
    const orgId = randomUUID();
    return inTenant(ctx.orm, orgId, async (em) => {
      const owner = await em.findOneOrFail(User, principal.userId);
      const org = em.create(Organization, { id: orgId, name: input.name, slug, billingEmail: owner.email });
      em.create(Membership, { org, user: owner, role: 'owner', joinedAt: new Date(), invitedAt: null });
      audit(em, orgId, caller, 'org.created', { type: 'org', id: orgId }, { name: input.name, slug });
      return org;
    });
  };
  const slugTaken = (error: unknown) => error instanceof UniqueConstraintViolationException;
  const org = await made(input.slug ?? slugOfName(input.name)).catch(async (error) => {
    if (!slugTaken(error)) throw error;
    if (input.slug) throw conflict('that slug is taken');
    return made(`${slugOfName(input.name)}-${randomBytes(3).toString('hex')}`).catch((again) => {
      throw slugTaken(again) ? conflict('that slug is taken') : again;
    });
  });
  ctx.broadcaster.joinOrg(principal.userId, org.id);
  return { org: toOrgAdminJson(org), role: 'owner' }; // its owner sees what an admin does (DESIGN §3)
}

/** The org; admins and owners also see its settings and billing email. */
export function getOrg(ctx: AppContext, caller: Caller, slug: string): Promise<OrgJson | OrgAdminJson> {
  return withOrg(ctx, caller.principal, slug, 'board:read', async ({ org, access }) =>
    access.kind === 'user' && roleCan(access.role, 'org:admin') ? toOrgAdminJson(org) : toOrgJson(org),
  );
}

export interface OrgChanges {
  name?: string;
  settings?: Record<string, unknown>;
  plan?: Plan;
  billingEmail?: string | null;
}

/** Admins change the name and settings; only an owner changes the plan and billing email. */
export function updateOrg(ctx: AppContext, caller: Caller, slug: string, changes: OrgChanges): Promise<OrgAdminJson> {
  return withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em, org, access }) => {
    const ownerOnly = changes.plan !== undefined || changes.billingEmail !== undefined;
    if (ownerOnly && !(access.kind === 'user' && roleCan(access.role, 'org:own')))
      throw forbidden('only an owner may change the plan or billing email');
    const before = toOrgAdminJson(org);
    if (changes.name !== undefined) org.name = changes.name;
    if (changes.settings !== undefined) org.settings = changes.settings;
    if (changes.plan !== undefined) org.plan = changes.plan;
    if (changes.billingEmail !== undefined) org.billingEmail = changes.billingEmail?.toLowerCase() ?? null;
    const after = toOrgAdminJson(org);
    const changed = (Object.keys(changes) as Array<keyof OrgChanges>).filter(
      (key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]),
    );
    if (changed.length > 0) audit(em, org.id, caller, 'org.updated', { type: 'org', id: org.id }, { changed });
    return after;
  });
}

/**
 * Deletes the org and everything in it (its projects, tasks, keys and audit log go with it, by
 * cascade). Owners only. The deletion is logged by the server, since the org's own log is gone;
 * every socket in the org loses its rooms and is sent `access:revoked` (`org_deleted`).
 */
export async function deleteOrg(ctx: AppContext, caller: Caller, slug: string): Promise<void> {
  const { orgId, keyIds } = await commitAccessChange(ctx, () =>
    withOrg(ctx, caller.principal, slug, 'org:own', async ({ em, org }) => {
      // Boards first, then the org, the order a board's writers lock them in (the board's `seq`,
      // then the org's row for their rows' foreign keys): the other way round, the cascade waits for
      // a board that a writer holds while the writer waits for the org, and PostgreSQL breaks the
      // deadlock by failing one of them.
      await em.find(Project, { org: org.id }, { fields: ['id'], orderBy: { id: 'asc' }, lockMode: LockMode.PESSIMISTIC_WRITE });
      // Then the memberships, which an admin's action holds until it commits (`withOrg`), and which
      // the cascade would lock last, once it held the org's row, that action's writes need for
      // their foreign keys: waited for here, the action commits first.
      await em.find(Membership, { org: org.id }, { fields: ['id'], orderBy: { id: 'asc' }, lockMode: LockMode.PESSIMISTIC_WRITE });
      const keys = await em.find(ApiKey, { org: org.id }, { fields: ['id'] });
      // A deletion that waited for another one above finds the org gone, as one a moment later would.
      if ((await em.nativeDelete(Organization, { id: org.id })) === 0) throw notFound('organization');
      return { orgId: org.id, keyIds: keys.map((key) => key.id) };
    }),
  );
  ctx.log.info({ audit: { action: 'org.deleted', orgId, slug, actor: caller.principal, ip: caller.ip } }, 'organization deleted');
  ctx.broadcaster.revoke({ org: true }, orgId, 'org_deleted');
  // A bot without `boards:read` is not in the org's room: its key's room reaches it.
  for (const keyId of keyIds) ctx.broadcaster.revoke({ keyId }, orgId, 'org_deleted');
}

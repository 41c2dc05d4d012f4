import { randomBytes, randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { type Role, roleAtLeast } from '../../shared/roles.js';
import type { MemberJson, OrgJson } from '../../shared/wire.js';
import { type Principal, requireUser } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { inTenant } from '../db/tenant.js';
import { conflict, DomainError, forbidden } from '../errors.js';
import { User } from '../users/user.entity.js';
import { Membership } from './membership.entity.js';
import { toMemberJson, toOrgJson } from './org.json.js';
import { withOrg } from './org-scope.js';
import { Organization } from './organization.entity.js';

/** Creates an org with the caller as its owner. Without a slug, one is made from the name. */
export async function createOrg(
  ctx: AppContext,
  caller: Principal,
  input: { name: string; slug?: string },
): Promise<{ org: OrgJson; role: Role }> {
  const principal = requireUser(caller);
  const orgId = randomUUID();
  const slug = input.slug ?? `${slugify(input.name)}-${randomBytes(3).toString('hex')}`;
  try {
    const org = await inTenant(ctx.orm, orgId, async (em) => {
      const owner = await em.findOneOrFail(User, principal.userId);
      const org = em.create(Organization, { id: orgId, name: input.name, slug, billingEmail: owner.email });
      em.create(Membership, { org, user: owner, role: 'owner', joinedAt: new Date(), invitedAt: null });
      return org;
    });
    ctx.broadcaster.joinOrg(principal.userId, orgId);
    return { org: toOrgJson(org), role: 'owner' };
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw conflict('that slug is taken');
    throw error;
  }
}

export function getOrg(ctx: AppContext, principal: Principal, slug: string): Promise<OrgJson> {
  return withOrg(ctx, principal, slug, 'board:read', async ({ org }) => toOrgJson(org));
}

export function listMembers(ctx: AppContext, principal: Principal, slug: string): Promise<MemberJson[]> {
  return withOrg(ctx, principal, slug, 'board:read', async ({ em }) => {
    const members = await em.find(Membership, {}, { populate: ['user'], orderBy: { createdAt: 'asc' } });
    return members.map(toMemberJson);
  });
}

/**
 * Adds the account with this email to the org. Only an owner may grant `owner`. An email with no
 * account yet is refused with 404 until pending invitations exist.
 */
export async function addMember(
  ctx: AppContext,
  principal: Principal,
  slug: string,
  input: { email: string; role: Role },
): Promise<MemberJson> {
  const added = await withOrg(ctx, principal, slug, 'members:manage', async ({ em, org, access }) => {
    if (input.role === 'owner' && !(access.kind === 'user' && roleAtLeast(access.role, 'owner')))
      throw forbidden('only an owner may grant the owner role');
    const user = await em.findOne(User, { email: input.email.toLowerCase() });
    if (!user) throw new DomainError('NOT_FOUND', 'no account has this email; pending invitations are not supported yet');
    if (await em.count(Membership, { user: user.id })) throw conflict('already a member');
    const membership = em.create(Membership, { org, user, role: input.role, invitedAt: new Date(), joinedAt: new Date() });
    return { orgId: org.id, member: toMemberJson(membership) };
  });
  ctx.broadcaster.joinOrg(added.member.user.id, added.orgId);
  ctx.broadcaster.orgEvent(added.orgId, 'member.added', { member: added.member });
  return added.member;
}

function slugify(name: string): string {
  const slug = name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 50);
  return slug || 'org';
}

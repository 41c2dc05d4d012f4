import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type Role, roleAtLeast } from '../../shared/roles.js';
import type { MemberJson } from '../../shared/wire.js';
import { audit } from '../audit/audit.service.js';
import type { Caller } from '../auth/caller.js';
import { requireUser } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { forbidden, invalid, notFound } from '../errors.js';
import type { Access } from './access.js';
import { type IMembership, Membership } from './membership.entity.js';
import { toMemberJson } from './org.json.js';
import { withOrg } from './org-scope.js';

export function listMembers(ctx: AppContext, caller: Caller, slug: string): Promise<MemberJson[]> {
  return withOrg(ctx, caller.principal, slug, 'board:read', async ({ em }) => {
    const members = await em.find(Membership, {}, { populate: ['user'], orderBy: { createdAt: 'asc' } });
    return members.map(toMemberJson);
  });
}

/** Only an owner may grant `owner`, or change or remove an owner. */
export function requireOwnerFor(access: Access, ...roles: Role[]): void {
  if (roles.includes('owner') && !(access.kind === 'user' && roleAtLeast(access.role, 'owner'))) {
    throw forbidden('only an owner may grant, change or remove the owner role');
  }
}

/** Changes a member's role. The last owner cannot be demoted (400). */
export async function changeRole(ctx: AppContext, caller: Caller, slug: string, userId: string, role: Role): Promise<MemberJson> {
  const changed = await withOrg(ctx, caller.principal, slug, 'members:manage', async ({ em, org, access }) => {
    const membership = await findMember(em, userId);
    requireOwnerFor(access, membership.role, role);
    const from = membership.role;
    if (from === role) return { orgId: org.id, member: toMemberJson(membership), changed: false };
    if (from === 'owner') await refuseLastOwner(em, 'demoted');
    membership.role = role;
    audit(em, org.id, caller, 'member.role_changed', { type: 'user', id: userId }, { from, to: role });
    return { orgId: org.id, member: toMemberJson(membership), changed: true };
  });
  if (changed.changed) ctx.broadcaster.orgEvent(changed.orgId, 'member.role_changed', { userId, role });
  return changed.member;
}

/**
 * Removes a member, or lets a member leave (their own id). Admins remove members but not owners;
 * owners remove anyone. The last owner can be neither removed nor leave (400). Their sockets
 * lose the org's rooms on every node once this commits.
 */
export async function removeMember(ctx: AppContext, caller: Caller, slug: string, userId: string): Promise<void> {
  const leaving = caller.principal.kind === 'user' && caller.principal.userId === userId;
  const orgId = await withOrg(ctx, caller.principal, slug, leaving ? 'board:read' : 'members:manage', async ({ em, org, access }) => {
    const membership = await findMember(em, userId);
    if (!leaving) requireOwnerFor(access, membership.role);
    if (membership.role === 'owner') await refuseLastOwner(em, leaving ? 'leave' : 'removed');
    em.remove(membership);
    const action = leaving ? 'member.left' : 'member.removed';
    audit(em, org.id, caller, action, { type: 'user', id: userId }, { role: membership.role });
    return org.id;
  });
  ctx.broadcaster.revoke({ userId }, orgId, 'removed');
  ctx.broadcaster.orgEvent(orgId, 'member.removed', { userId });
}

/** The caller leaves the org. */
export function leaveOrg(ctx: AppContext, caller: Caller, slug: string): Promise<void> {
  return removeMember(ctx, caller, slug, requireUser(caller.principal).userId);
}

async function findMember(em: EntityManager, userId: string): Promise<IMembership> {
  const membership = await em.findOne(Membership, { user: userId }, { populate: ['user'] });
  if (!membership) throw notFound('member');
  return membership;
}

/** Locks the owners' rows first, so two owners demoting each other (or leaving) at once cannot both pass. */
async function refuseLastOwner(em: EntityManager, what: 'demoted' | 'removed' | 'leave'): Promise<void> {
  const owners = (await em.find(Membership, { role: 'owner' }, { fields: ['id'], lockMode: LockMode.PESSIMISTIC_WRITE })).length;
  if (owners <= 1) throw invalid(what === 'leave' ? 'the last owner cannot leave the organization' : `the last owner cannot be ${what}`);
}

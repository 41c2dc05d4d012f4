import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { type Role, roleCan } from '../../shared/roles.js';
import type { MemberJson, OrgName } from '../../shared/wire.js';
import { audit } from '../audit/audit.service.js';
import type { Caller } from '../auth/caller.js';
import type { AppContext } from '../context.js';
import { DomainError, forbidden, notFound } from '../errors.js';
import type { Access } from './access.js';
import { User } from '../users/user.entity.js';
import { Invite } from './invite.entity.js';
import { type IMembership, Membership } from './membership.entity.js';
import { toMemberJson } from './org.json.js';
import { withOrg } from './org-scope.js';
import { isoTime, runPlain, sql } from '../db/sql-script.js';
import { type Raw, rawJson } from '../raw-json.js';
import { commitAccessChange } from '../realtime/access-change.js';

/**
 * The org's members, oldest first, their JSON written by the database in one statement: read
 * through the ORM, 20,000 members cost the node 1.2 s of CPU in one piece, and every tenant's
 * changes on it waited that long (the web board reads the list whenever a board is opened).
 */
export function listMembers(ctx: AppContext, caller: Caller, slug: string): Promise<Raw<MemberJson[]>> {
  return withOrg(ctx, caller.principal, slug, 'board:read', async ({ em, org }) => {
    const rows = await em.execute<Array<{ member: string }>>(
      ...sql`select (select row_to_json(member) from (
                 select (select row_to_json(u) from (select users.id, users.email, users.name) u) as "user",
                        m.role, ${isoTime(sql`m.joined_at`)} as "joinedAt") member)::text as member
           from memberships m join users on users.id = m.user_id
          where m.org_id = ${org.id}
          order by m.created_at, m.id`.bound(),
    );
    return rawJson<MemberJson[]>(`[${rows.map((row) => row.member).join(',')}]`);
  });
}

/** Only an owner may grant `owner`, or change or remove an owner (or an invitation as owner). */
export function requireOwnerFor(access: Access, ...roles: Role[]): void {
  if (roles.includes('owner') && !mayTouchOwner(access)) throw ownerOnly();
}

export function mayTouchOwner(access: Access): boolean {
  return access.kind === 'user' && roleCan(access.role, 'org:own');
}

export function ownerOnly() {
  return forbidden('only an owner may grant, change or remove the owner role');
}

/**
 * Changes a member's role. The last owner cannot be demoted (400). A change that comes while the
 * member is being removed waits for the removal, then finds no member (404).
 */
export async function changeRole(ctx: AppContext, caller: Caller, slug: string, userId: string, role: Role): Promise<MemberJson> {
  const changed = await withOrg(ctx, caller.principal, slug, 'members:manage', async ({ em, org, access }) => {
    const membership = await lockMember(em, userId);
    requireOwnerFor(access, membership.role, role);
    const from = membership.role;
    if (from === role) return { orgId: org.id, member: toMemberJson(membership), changed: false };
    if (from === 'owner') await refuseLastOwner(em, 'demoted');
    membership.role = role;
    audit(em, org.id, caller, 'member.role_changed', { type: 'user', id: membership.user.id }, { from, to: role });
    await revokeInvitesBeyond(em, org.id, caller, membership.user.id, role);
    return { orgId: org.id, member: toMemberJson(membership), changed: true };
  });
  if (changed.changed) ctx.broadcaster.orgEvent(changed.orgId, 'member.role_changed', { userId: changed.member.user.id, role });
  return changed.member;
}

/**
 * Removes a member, or lets a member leave (their own id). Admins remove members but not owners;
 * owners remove anyone. The last owner can be neither removed nor leave (400). Their sockets
 * lose the org's rooms on every node once this commits. Of removals of one member at once, one
 * wins; the others wait for it and find no member (404), as a removal after it would.
 */
export async function removeMember(ctx: AppContext, caller: Caller, slug: string, userId: string): Promise<void> {
  const leaving = caller.principal.kind === 'user' && caller.principal.userId === userId; // path ids come in lower case (`pathId`)
  const removed = await commitAccessChange(ctx, () =>
    withOrg(ctx, caller.principal, slug, leaving ? 'board:read' : 'members:manage', async ({ em, org, access }) => {
      const membership = await lockMember(em, userId);
      if (!leaving) requireOwnerFor(access, membership.role);
      if (membership.role === 'owner') await refuseLastOwner(em, leaving ? 'leave' : 'removed');
      em.remove(membership);
      const action = leaving ? 'member.left' : 'member.removed';
      audit(em, org.id, caller, action, { type: 'user', id: membership.user.id }, { role: membership.role });
      await revokeInvitesBeyond(em, org.id, caller, membership.user.id, null);
      // An invitation still pending for the account itself (a sign-up cut off before it accepted
      // one) would let it back in at its next sign-in (`acceptPendingInvites`).
      const { email } = await em.findOneOrFail(User, membership.user.id, { fields: ['email'] });
      for (const row of await em.find(Invite, { email, acceptedAt: null })) {
        em.remove(row);
        audit(em, org.id, caller, 'invite.revoked', { type: 'invite', id: row.id }, { email, reason: 'its account left the org' });
      }
      return { orgId: org.id, userId: membership.user.id };
    }),
  );
  // The id as stored: the user's private room, and what clients compare, are spelt with it.
  ctx.broadcaster.revoke({ userId: removed.userId }, removed.orgId, 'removed');
  ctx.broadcaster.orgEvent(removed.orgId, 'member.removed', { userId: removed.userId });
}

/**
 * Revokes the pending invitations the member sent that they may no longer send, as they leave or
 * are removed (`role` null) or their role goes down: whoever accepts an invitation joins with the
 * role its sender gave, so one sent to an address of the sender's own would let them back in, or
 * back up (the data-lifecycle review: a removed admin registered such an address and was admin
 * again). Each is logged as revoked, with why.
 */
async function revokeInvitesBeyond(em: EntityManager, orgId: string, caller: Caller, senderId: string, role: Role | null): Promise<void> {
  // What `invite` asks of its sender: to manage members, and to be an owner for an owner's invitation.
  const mayStillSend = (invited: Role) =>
    role !== null && roleCan(role, 'members:manage') && (invited !== 'owner' || mayTouchOwner({ kind: 'user', role }));
  for (const row of await em.find(Invite, { invitedBy: senderId, acceptedAt: null })) {
    if (mayStillSend(row.role)) continue;
    em.remove(row);
    audit(
      em,
      orgId,
      caller,
      'invite.revoked',
      { type: 'invite', id: row.id },
      { email: row.email, reason: 'its sender may no longer invite' },
    );
  }
}

/**
 * The member's row, locked until the transaction ends, so that changes to one member queue: one
 * that waited on a removal finds no row (404) instead of changing or removing it again. An owner's
 * row is locked after the owners' rows (`lockOwners`), in the order `refuseLastOwner` locks them.
 * The caller's own row is share-locked already (`withOrg` holds an admin's standing), so two
 * owners changing or removing each other at once deadlock: PostgreSQL refuses one of the two,
 * nothing of it written, and `withOrg` runs it again, to find what the other did.
 */
async function lockMember(em: EntityManager, userId: string): Promise<IMembership> {
  const seen = await em.findOne(Membership, { user: userId }, { fields: ['role'] });
  if (!seen) throw notFound('member');
  if (seen.role === 'owner') await lockOwners(em);
  const membership = await em.findOne(Membership, { user: userId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
  if (!membership) throw notFound('member');
  await em.populate(membership, ['user']);
  return membership;
}

/** Locks the org's owners' rows, in id order, and counts them. */
async function lockOwners(em: EntityManager): Promise<number> {
  const owners = await em.find(
    Membership,
    { role: 'owner' },
    { fields: ['id'], orderBy: { id: 'asc' }, lockMode: LockMode.PESSIMISTIC_WRITE },
  );
  return owners.length;
}

/** The orgs whose only owner is the user, by name: what keeps them from leaving all of their orgs. */
export function lastOwnedOrgs(ctx: AppContext, userId: string): Promise<OrgName[]> {
  return runPlain(
    ctx.orm,
    sql`select o.slug, o.name from memberships m join organizations o on o.id = m.org_id
         where m.user_id = ${userId} and m.role = 'owner' and not exists (
           select 1 from memberships other where other.org_id = m.org_id and other.role = 'owner' and other.user_id <> m.user_id)
         order by o.name, o.slug`,
  );
}

/** The refusal to demote, remove or let go the last owner of an org (400). */
export class LastOwnerRefusal extends DomainError {
  constructor(message: string) {
    super('VALIDATION_FAILED', message);
  }
}

/** Locks the owners' rows first, so two owners demoting each other (or leaving) at once cannot both pass. */
async function refuseLastOwner(em: EntityManager, what: 'demoted' | 'removed' | 'leave'): Promise<void> {
  const owners = await lockOwners(em);
  if (owners <= 1)
    throw new LastOwnerRefusal(what === 'leave' ? 'the last owner cannot leave the organization' : `the last owner cannot be ${what}`);
}

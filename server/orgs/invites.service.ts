import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Role } from '../../shared/roles.js';
import type { InviteJson, MemberJson } from '../../shared/wire.js';
import { audit } from '../audit/audit.service.js';
import type { Caller } from '../auth/caller.js';
import { actorOf } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { sql } from '../db/sql-script.js';
import { identityEm, inTenant } from '../db/tenant.js';
import { conflict, notFound } from '../errors.js';
import { hashSecret, newSecret } from '../secret-hash.js';
import { User } from '../users/user.entity.js';
import { type IInvite, Invite } from './invite.entity.js';
import { stampJoining } from './arrival-stamp.js';
import { Membership } from './membership.entity.js';
import { mayTouchOwner, ownerOnly, requireOwnerFor } from './members.service.js';
import { toMemberJson } from './org.json.js';
import { withOrg } from './org-scope.js';
import { Organization } from './organization.entity.js';

export type InviteOutcome = { member: MemberJson } | { invite: InviteJson };

/**
 * Invites an email into the org with a role. An email with an account becomes a member at once
 * (`{member}`); one without gets a pending invitation (`{invite}`) and a mail with its link,
 * and becomes a member when it registers. Inviting the same email again, or at the same time, renews
 * its one pending invitation (`sendInvite`).
 */
export async function invite(ctx: AppContext, caller: Caller, slug: string, input: { email: string; role: Role }): Promise<InviteOutcome> {
  const email = input.email.toLowerCase();
  const token = newSecret();
  const outcome = await withOrg(ctx, caller.principal, slug, 'members:manage', async ({ em, org, access }) => {
    requireOwnerFor(access, input.role);
    await lockInvitationsOf(em, email);
    const user = await em.findOne(User, { email });
    if (user) {
      if (await em.count(Membership, { user: user.id })) throw conflict('already a member');
      const now = new Date();
      // One left pending by a sign-up cut off before it accepted it (`acceptPendingInvites`) is answered by this.
      for (const row of await em.find(Invite, { email, ...stillPending() }, { lockMode: LockMode.PESSIMISTIC_WRITE })) row.acceptedAt = now;
      const membership = em.create(Membership, { org, user, role: input.role, invitedAt: now, joinedAt: now });
      audit(em, org.id, caller, 'member.added', { type: 'user', id: user.id }, { role: input.role });
      const joinedAt = await stampJoining(em, org.id, user.id);
      const member = { ...toMemberJson(membership), joinedAt: joinedAt.toISOString() };
      return { kind: 'member' as const, orgId: org.id, orgName: org.name, member };
    }
    const expiresAt = new Date(Date.now() + ctx.config.inviteTtl * 1000);
    const row = await sendInvite(em, org.id, mayTouchOwner(access), {
      email,
      role: input.role,
      tokenHash: hashSecret(token),
      invitedById: invitedById(caller),
      expiresAt,
    });
    // After the invitation is written (a refusal above spends none of it); over the limit, the write is rolled back.
    const { mail } = await ctx.inviteMailLimit.take(org.id, email, actorOf(caller.principal).id);
    audit(em, org.id, caller, 'member.invited', { type: 'invite', id: row.id }, { email, role: input.role, mailed: mail });
    return { kind: 'invite' as const, orgId: org.id, orgName: org.name, invite: toInviteJson(row), mail };
  });
  if (outcome.kind === 'member') {
    ctx.broadcaster.joinOrg(outcome.member.user.id, outcome.orgId);
    ctx.broadcaster.orgEvent(outcome.orgId, 'member.added', { member: outcome.member });
    return { member: outcome.member };
  }
  if (!outcome.mail) {
    // Its address had all the mails it may get from all orgs this hour: registering still accepts it.
    ctx.log.info(
      { orgId: outcome.orgId, inviteId: outcome.invite.id },
      'invitation kept without a mail: its address was mailed enough this hour',
    );
    return { invite: outcome.invite };
  }
  // The token rides in the fragment, which a browser does not send: no request log, proxy's or
  // ours, holds it (a link mailed before carried it in the query string; the web board reads both).
  const link = `${ctx.config.publicUrl}/invite#token=${token}&email=${encodeURIComponent(email)}`;
  // The invitation stands whether or not its mail goes out (registering the address accepts it,
  // and inviting again sends it again), and is answered without waiting for it: a mail server
  // that is slow, refuses or does not answer is logged, and holds up no one.
  ctx.mail.post(
    {
      to: email,
      subject: `You are invited to ${outcome.orgName} on TaskFlow`,
      text: `You have been invited to join ${outcome.orgName} as ${input.role}.\nSign up with this email address to accept: ${link}\nThe invitation expires on ${outcome.invite.expiresAt}.`,
    },
    (error) => ctx.log.error({ err: error, orgId: outcome.orgId, inviteId: outcome.invite.id }, 'invitation mail not sent'),
  );
  return { invite: outcome.invite };
}

/** The org's pending invitations (not accepted, not expired). */
export function listInvites(ctx: AppContext, caller: Caller, slug: string): Promise<InviteJson[]> {
  return withOrg(ctx, caller.principal, slug, 'members:manage', async ({ em }) => {
    const invites = await em.find(Invite, stillPending(), { orderBy: { createdAt: 'asc' } });
    return invites.map(toInviteJson);
  });
}

/** Revokes a pending invitation. Of revocations at once, one wins; the others find it gone (404), as one after it would. */
export async function revokeInvite(ctx: AppContext, caller: Caller, slug: string, inviteId: string): Promise<void> {
  await withOrg(ctx, caller.principal, slug, 'members:manage', async ({ em, org, access }) => {
    const row = await em.findOne(Invite, { id: inviteId, acceptedAt: null }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!row) throw notFound('invitation');
    requireOwnerFor(access, row.role);
    em.remove(row);
    audit(em, org.id, caller, 'invite.revoked', { type: 'invite', id: row.id }, { email: row.email });
  });
}

/**
 * Whether `token` is the link's token of a pending invitation to `email` (lower case), in any org:
 * where registration is by invitation, what shows that whoever registers reads that mailbox.
 */
export async function isInvited(ctx: AppContext, email: string, token: string): Promise<boolean> {
  const found = await identityEm(ctx.orm).count(
    Invite,
    { email, tokenHash: hashSecret(token), ...stillPending() },
    { filters: { tenant: false } },
  );
  return found > 0;
}

/**
 * Turns every pending, unexpired invitation for a new account's email into a membership, each in
 * its own org's transaction. Finding them is an identity read across tenants, by email only. An org
 * holds one pending invitation per email (a unique index); were there more, the one sent last
 * (`NEWEST_FIRST`) would give the role. Locked, so a revocation at the same time either comes
 * first (and nothing is accepted) or finds the invitation accepted.
 */
export async function acceptPendingInvites(ctx: AppContext, caller: Caller, user: { id: string; email: string }): Promise<void> {
  const pending = await identityEm(ctx.orm).transactional(async (em) => {
    await lockInvitationsOf(em, user.email);
    return em.find(Invite, { email: user.email, ...stillPending() }, { filters: { tenant: false }, fields: ['org'] });
  });
  for (const orgId of new Set(pending.map((row) => row.org.id))) {
    const member = await inTenant(ctx.orm, orgId, async (em) => {
      const invites = await em.find(
        Invite,
        { email: user.email, ...stillPending() },
        { orderBy: NEWEST_FIRST, lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (invites.length === 0) return null;
      const now = new Date();
      for (const row of invites) row.acceptedAt = now;
      // Already a member (added since): the invitations are answered, and must not stay pending for later.
      if (await em.count(Membership, { user: user.id })) return null;
      const first = invites[0]!;
      const membership = em.create(Membership, {
        org: em.getReference(Organization, orgId),
        user: await em.findOneOrFail(User, user.id),
        role: first.role,
        invitedAt: first.createdAt,
        joinedAt: now,
      });
      audit(em, orgId, caller, 'member.added', { type: 'user', id: user.id }, { role: first.role, via: 'invite', inviteId: first.id });
      const joinedAt = await stampJoining(em, orgId, user.id);
      return { ...toMemberJson(membership), joinedAt: joinedAt.toISOString() };
    });
    if (member) {
      ctx.broadcaster.joinOrg(user.id, orgId);
      ctx.broadcaster.orgEvent(orgId, 'member.added', { member });
    }
  }
}

/** The class of the advisory locks of `lockInvitationsOf`, apart from any other advisory lock. */
const INVITATIONS_OF_EMAIL = 7_401;

/**
 * Takes, until the transaction ends, the lock that inviting `email` and accepting the invitations
 * of a new account of `email` share. An invitation takes it before it looks for the account, and
 * an account's sign-up, once the account is committed, before it looks for its invitations: so
 * either the invitation sees the account (and makes a member at once), or the sign-up sees the
 * invitation, whichever commits first, and no invitation stays pending for an account that exists.
 */
export async function lockInvitationsOf(em: EntityManager, email: string): Promise<void> {
  await em.execute('select pg_advisory_xact_lock(?, hashtext(?))', [INVITATIONS_OF_EMAIL, email]);
}

/** An invitation still pending: neither accepted nor expired. */
function stillPending() {
  return { acceptedAt: null, expiresAt: { $gt: new Date() } };
}

/** The invitation sent last first: the latest expiry (a renewal moves it), then the latest row. */
const NEWEST_FIRST = { expiresAt: 'desc', createdAt: 'desc', id: 'desc' } as const;

/**
 * Writes the org's one pending invitation for `invite.email`: a new row, or the pending one renewed
 * (role, token, sender, expiry) in the same statement. The partial unique index makes invitations
 * of one email at once queue on each other and renew one row, never add a second. A pending
 * invitation as owner is renewed only by an owner (`ownerMay`): anyone else is refused, also when
 * it was sent while they waited. The statement names only the org's own rows (`org_id` is in the
 * conflict target, and row-level security holds it to the tenant); the row is then read back
 * through the tenant filter.
 */
async function sendInvite(
  em: EntityManager,
  orgId: string,
  ownerMay: boolean,
  invite: { email: string; role: Role; tokenHash: string; invitedById: string | null; expiresAt: Date },
): Promise<IInvite> {
  const [row] = await em.execute<Array<{ id: string }>>(
    ...sql`insert into invites (id, created_at, org_id, email, role, token_hash, invited_by_id, expires_at)
      values (${randomUUID()}, ${new Date()}, ${orgId}, ${invite.email}, ${invite.role}, ${invite.tokenHash}, ${invite.invitedById}, ${invite.expiresAt})
      on conflict (org_id, email) where accepted_at is null do update
      set role = excluded.role, token_hash = excluded.token_hash, invited_by_id = excluded.invited_by_id, expires_at = excluded.expires_at
      where invites.role <> 'owner' or ${ownerMay}
      returning id`.bound(),
  );
  if (!row) throw ownerOnly(); // the pending one is an owner's invitation
  return em.findOneOrFail(Invite, { id: row.id });
}

function invitedById(caller: Caller): string | null {
  return caller.principal.kind === 'user' ? caller.principal.userId : null;
}

function toInviteJson(row: IInvite): InviteJson {
  return {
    id: row.id,
    email: row.email,
    role: row.role,
    invitedBy: row.invitedBy?.id ?? null,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}

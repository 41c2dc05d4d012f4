import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Role } from '../../shared/roles.js';
import type { OrgJson, UserJson } from '../../shared/wire.js';
import type { AppContext } from '../context.js';
import { runPlain, sql } from '../db/sql-script.js';
import { identityEm } from '../db/tenant.js';
import { conflict, DomainError, forbidden, sessionEnded, unauthorized } from '../errors.js';
import type { RequestClient } from '../http/route-kit.js';
import { acceptPendingInvites, isInvited } from '../orgs/invites.service.js';
import { Membership } from '../orgs/membership.entity.js';
import { type IUser, User } from '../users/user.entity.js';
import { toUserJson } from '../users/user.json.js';
import type { PasswordWorker } from './password-turns.js';
import type { Verified } from './passwords.js';
import { type Principal, requireUser, type UserPrincipal } from './principal.js';

export interface Session {
  token: string;
  user: UserJson;
}

/**
 * Creates an account; every pending invitation for its email becomes a membership. Those joins
 * are audited as the new member's, without the sign-up's address and user agent: the request was
 * made to the server, not to the orgs, and any org may have invited the address.
 */
export async function register(
  ctx: AppContext,
  input: { email: string; password: string; name: string; inviteToken?: string },
  client: RequestClient,
): Promise<Session> {
  const em = identityEm(ctx.orm);
  const email = input.email.toLowerCase();
  // Where accounts are by invitation, the refusal comes first: a stranger learns nothing of which addresses have one.
  if (ctx.config.registration === 'invited' && !(await mayRegister(ctx, email, input.inviteToken)))
    throw forbidden('accounts are made by invitation on this server: open the link of an invitation to this address');
  if (await em.count(User, { email })) throw conflict('an account with this email exists');
  const user = em.create(User, {
    email,
    name: input.name,
    passwordHash: await ctx.passwordTurns.hash(
      { address: client.address, account: email, stillWanted: client.stillWanted },
      input.password,
    ),
    avatarUrl: null,
    // Not from SUPER_ADMIN_EMAILS: the list is read at every authentication (`principalOf`), so
    // that taking an address off it takes the rights away. The flag is for grants made on purpose.
    isSuperAdmin: false,
  });
  try {
    await em.flush();
  } catch (error) {
    if (error instanceof UniqueConstraintViolationException) throw conflict('an account with this email exists');
    throw error;
  }
  const principal = principalOf(user, ctx.config.superAdminEmails);
  await acceptPendingInvites(ctx, { principal }, user);
  return { token: ctx.tokens.sign(user.id, user.sessionVersion), user: toUserJson(user) };
}

/**
 * Where registration is by invitation: the token of a pending invitation to `email`, from its
 * link; or, while the server has no account yet, an address of SUPER_ADMIN_EMAILS (the first
 * account, of whoever sets the server up).
 */
async function mayRegister(ctx: AppContext, email: string, inviteToken: string | undefined): Promise<boolean> {
  if (inviteToken && (await isInvited(ctx, email, inviteToken))) return true;
  return ctx.config.superAdminEmails.includes(email) && (await identityEm(ctx.orm).count(User, {})) === 0;
}

/** Signs in. Failures are throttled per account and per IP; an unknown email costs and reads the same as a wrong password. */
export async function login(ctx: AppContext, input: { email: string; password: string }, client: RequestClient): Promise<Session> {
  const { address } = client;
  await ctx.loginThrottle.attempt(input.email, address);
  const worker = { address, account: input.email, stillWanted: client.stillWanted };
  let user: IUser | null;
  let checked: Verified;
  try {
    user = await identityEm(ctx.orm).findOne(User, { email: input.email.toLowerCase() });
    checked = await ctx.passwordTurns.verify(worker, user?.passwordHash ?? null, input.password);
  } catch (error) {
    await ctx.loginThrottle.undo(input.email, address);
    throw error;
  }
  if (!user || !checked.valid) throw unauthorized('wrong email or password');
  await ctx.loginThrottle.succeeded(input.email, address);
  await acceptLeftInvites(ctx, user);
  // After the answer, in the address's and account's turns like any password work.
  if (checked.outdated) void rehash(ctx, { address, account: input.email }, user, input.password);
  return { token: ctx.tokens.sign(user.id, user.sessionVersion), user: toUserJson(user) };
}

/**
 * Accepts the invitations still pending for an account that signs in. A sign-up commits the
 * account, then accepts its invitations, org by org: one cut off between the two (its node
 * stopped, its database gone for a moment) left an account whose invitations nothing accepted, its
 * client told to sign in (409 on the retry) to an account in none of its orgs (the fault review).
 * The sign-in stands if this fails: the next one tries again.
 */
async function acceptLeftInvites(ctx: AppContext, user: IUser): Promise<void> {
  try {
    await acceptPendingInvites(ctx, { principal: principalOf(user, ctx.config.superAdminEmails) }, user);
  } catch (error) {
    ctx.log.warn({ err: error, userId: user.id }, 'could not accept the invitations pending for an account that signed in');
  }
}

/**
 * Hashes a password that matched as typed anew, normalized, so that it matches however it is
 * typed from now on, unless the password changed meanwhile. The sign-in stands if this fails
 * (turns full, the database away); the next one tries again.
 */
async function rehash(ctx: AppContext, worker: PasswordWorker, user: IUser, password: string): Promise<void> {
  try {
    const fresh = await ctx.passwordTurns.hash(worker, password);
    await identityEm(ctx.orm)
      .getConnection()
      .execute('update users set password_hash = ? where id = ? and password_hash = ?', [fresh, user.id, user.passwordHash]);
  } catch (error) {
    if (!(error instanceof DomainError))
      ctx.log.warn({ err: error, userId: user.id }, 'could not hash a password anew in its normalized form');
  }
}

/**
 * The principal behind a token, and when the token expires (epoch seconds): the user must still
 * exist, and the token be of their current session version (not signed before their sessions
 * were ended: a password changed or reset, or a sign-out of the other sessions).
 */
export async function authenticateToken(
  ctx: AppContext,
  token: unknown,
): Promise<{ principal: Principal; expiresAt: number; orgIds: string[] }> {
  const claims = ctx.tokens.verify(token);
  // A plain read, the user and the orgs they belong to in one statement: this runs on every
  // request and every socket handshake (whose socket joins those orgs' rooms).
  const [user] = await runPlain<PrincipalFields & { orgIds: string[] }>(
    ctx.orm,
    sql`select id, name, email, is_super_admin as "isSuperAdmin", session_version as "sessionVersion",
          array(select org_id from memberships where user_id = users.id) as "orgIds"
          from users where id = ${claims.sub}`,
  );
  if (!user) throw unauthorized('the account no longer exists');
  if (user.sessionVersion !== claims.ver) throw sessionEnded();
  return { principal: principalOf(user, ctx.config.superAdminEmails), expiresAt: claims.exp, orgIds: user.orgIds };
}

type PrincipalFields = Pick<IUser, 'id' | 'name' | 'email' | 'isSuperAdmin' | 'sessionVersion'>;

function principalOf(user: PrincipalFields, superAdminEmails: string[]): UserPrincipal {
  return {
    kind: 'user',
    userId: user.id,
    name: user.name,
    isSuperAdmin: user.isSuperAdmin || superAdminEmails.includes(user.email),
    sessionVersion: user.sessionVersion,
  };
}

export interface Me {
  user: UserJson;
  memberships: Array<{ org: Pick<OrgJson, 'id' | 'slug' | 'name'>; role: Role }>;
}

/**
 * The user and every org they belong to. This is the identity view across tenants, so it reads
 * memberships with the tenant filter off, for this one user only.
 */
export async function me(ctx: AppContext, caller: Principal): Promise<Me> {
  const principal = requireUser(caller);
  const em = identityEm(ctx.orm);
  const user = await em.findOneOrFail(User, principal.userId);
  const memberships = await em.find(
    Membership,
    { user: principal.userId },
    { filters: { tenant: false }, populate: ['org'], orderBy: { createdAt: 'asc' } },
  );
  return {
    user: toUserJson(user),
    memberships: memberships.map((m) => ({ org: { id: m.org.id, slug: m.org.slug, name: m.org.name }, role: m.role })),
  };
}

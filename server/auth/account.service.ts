import type { AppContext } from '../context.js';
import { runPlain, sql, type Sql } from '../db/sql-script.js';
import { identityEm } from '../db/tenant.js';
import { forbidden, sessionEnded } from '../errors.js';
import type { RequestClient } from '../http/route-kit.js';
import { hashSecret, newSecret } from '../secret-hash.js';
import { User } from '../users/user.entity.js';
import { toUserJson } from '../users/user.json.js';
import type { Session } from './auth.service.js';
import { requireUser, type Principal } from './principal.js';
import { commitAccessChange } from '../realtime/access-change.js';

/** How long a password-reset link works. */
const RESET_LINK_TTL_SECONDS = 60 * 60;

/**
 * The caller's account, once the password they typed is its own: checked as a login is, its
 * failures throttled as failed logins are (so a stolen token cannot be used to guess it); 403 for
 * a wrong one, 401 for a session ended since the token was checked. `worker` is who the password
 * work is done for, for hashing one more.
 */
export async function confirmPassword(ctx: AppContext, caller: Principal, password: string, client: RequestClient) {
  const { userId, sessionVersion } = requireUser(caller);
  const user = await identityEm(ctx.orm).findOne(User, { id: userId, sessionVersion });
  if (!user) throw sessionEnded();
  const { address } = client;
  await ctx.loginThrottle.attempt(user.email, address);
  const worker = { address, account: user.email, stillWanted: client.stillWanted };
  let valid: boolean;
  try {
    ({ valid } = await ctx.passwordTurns.verify(worker, user.passwordHash, password));
  } catch (error) {
    await ctx.loginThrottle.undo(user.email, address);
    throw error;
  }
  // Not 401: the caller's session is fine, only the password they typed is not.
  if (!valid) throw forbidden('the current password is wrong');
  await ctx.loginThrottle.succeeded(user.email, address);
  return { user, worker };
}

/**
 * Changes the caller's password, given the current one (`confirmPassword`). Ends every session signed in before,
 * this one's too, and answers a fresh token for the caller. Only if nothing changed meanwhile:
 * a session ended, or the password set, since the caller's token was checked is refused (401).
 */
export async function changePassword(
  ctx: AppContext,
  caller: Principal,
  input: { currentPassword: string; password: string },
  client: RequestClient,
): Promise<Session> {
  const { userId, sessionVersion } = requireUser(caller);
  const { user, worker } = await confirmPassword(ctx, caller, input.currentPassword, client);
  const passwordHash = await ctx.passwordTurns.hash(worker, input.password);
  const session = await endSessions(
    ctx,
    sql`id = ${userId} and session_version = ${sessionVersion} and password_hash = ${user.passwordHash}`,
    passwordHash,
  );
  if (!session) throw sessionEnded();
  return session;
}

/**
 * Ends every other session of the caller (a device lost, a token leaked): answers a fresh token
 * for this one. A caller whose own session was ended meanwhile is refused (401), so a stolen
 * token cannot outlast its owner's sign-out by asking at the same moment.
 */
export async function signOutOthers(ctx: AppContext, caller: Principal): Promise<{ token: string }> {
  const { userId, sessionVersion } = requireUser(caller);
  const session = await endSessions(ctx, sql`id = ${userId} and session_version = ${sessionVersion}`, null);
  if (!session) throw sessionEnded();
  return { token: session.token };
}

/**
 * Mails a link that sets a new password to the address, where it has an account and was not
 * mailed enough this hour (`ResetMailLimit`). The caller learns neither: the answer is the same,
 * and the mail goes out in the background. The link replaces any earlier one of the account. Its
 * token is in the link's fragment, which a browser does not send, so no request log holds it.
 */
export async function requestPasswordReset(ctx: AppContext, email: string, ip: string): Promise<void> {
  const address = email.toLowerCase();
  const { mail } = await ctx.resetMailLimit.take(ip, address);
  if (!mail) return;
  const token = newSecret();
  const expiresAt = new Date(Date.now() + RESET_LINK_TTL_SECONDS * 1000);
  const [user] = await runPlain<{ id: string }>(
    ctx.orm,
    sql`update users set password_reset_hash = ${hashSecret(token)}, password_reset_expires_at = ${expiresAt}
         where email = ${address} returning id`,
  );
  if (!user) return;
  ctx.mail.post(
    {
      to: address,
      subject: 'Reset your TaskFlow password',
      text: `Someone, we hope you, asked to reset the password of your TaskFlow account.\nSet a new one here: ${ctx.config.publicUrl}/reset-password#token=${token}\nThe link works once, until ${expiresAt.toISOString()}. If you did not ask for it, ignore this mail: your password stays as it is.`,
    },
    (error) => ctx.log.error({ err: error, userId: user.id }, 'password-reset mail not sent'),
  );
}

/**
 * Sets a new password with the token of the account's latest reset link, once and before it
 * expires. Ends every session signed in before, and signs in. The link is checked before the
 * new password is hashed, so a made-up token costs no hash.
 */
export async function resetPassword(ctx: AppContext, input: { token: string; password: string }, client: RequestClient): Promise<Session> {
  const link = liveResetLink(input.token);
  const [found] = await runPlain<{ id: string }>(ctx.orm, sql`select id from users where ${link}`);
  const passwordHash =
    found && (await ctx.passwordTurns.hash({ address: client.address, stillWanted: client.stillWanted }, input.password));
  const session = passwordHash && (await endSessions(ctx, sql`id = ${found.id} and ${link}`, passwordHash));
  if (!session) throw deadResetLink();
  // Whoever locked the account with wrong passwords does not keep its owner out once they reset it.
  await ctx.loginThrottle.forgive(session.user.email, client.address);
  return session;
}

/**
 * Whether a reset link still works (its page asks as it opens, so that a used or expired one is
 * told before a new password is typed): FORBIDDEN as `resetPassword` answers it if not. Tells only
 * what holding the link tells anyway, and costs no hash.
 */
export async function checkResetLink(ctx: AppContext, token: string): Promise<void> {
  const [found] = await runPlain<{ id: string }>(ctx.orm, sql`select id from users where ${liveResetLink(token)}`);
  if (!found) throw deadResetLink();
}

/** The account whose latest reset link has `token`, while the link works. */
const liveResetLink = (token: string) => sql`password_reset_hash = ${hashSecret(token)} and password_reset_expires_at > now()`;

const deadResetLink = () => forbidden('this link is used, replaced by a later one, or expired: ask for a new one');

/**
 * In one statement, for the user `which` names: raises their session version (every token signed
 * before is refused from then on, over HTTP, at a socket's handshake and on its next event), and,
 * with `passwordHash`, sets the password and spends any reset link. Then their sockets signed in
 * before are closed on every node. Answers a session of the new version; null if no user matched.
 */
async function endSessions(ctx: AppContext, which: Sql, passwordHash: string | null): Promise<Session | null> {
  const [user] = await commitAccessChange(ctx, () =>
    runPlain<{ id: string; email: string; name: string; avatar_url: string | null; session_version: number }>(
      ctx.orm,
      sql`update users set session_version = session_version + 1, password_hash = coalesce(${passwordHash}, password_hash),
           password_reset_hash = case when ${passwordHash}::text is null then password_reset_hash end,
           password_reset_expires_at = case when ${passwordHash}::text is null then password_reset_expires_at end
         where ${which} returning id, email, name, avatar_url, session_version`,
    ),
  );
  if (!user) return null;
  ctx.broadcaster.endSessions({ userId: user.id }, user.session_version);
  return {
    token: ctx.tokens.sign(user.id, user.session_version),
    user: toUserJson({ id: user.id, email: user.email, name: user.name, avatarUrl: user.avatar_url }),
  };
}

import type { OrgName } from '../../shared/wire.js';
import type { AppContext } from '../context.js';
import { runPlain, sql } from '../db/sql-script.js';
import { identityEm } from '../db/tenant.js';
import { conflict, DomainError, sessionEnded } from '../errors.js';
import type { RequestClient } from '../http/route-kit.js';
import { lockInvitationsOf } from '../orgs/invites.service.js';
import { LastOwnerRefusal, lastOwnedOrgs, removeMember } from '../orgs/members.service.js';
import { newSecret } from '../secret-hash.js';
import { confirmPassword } from './account.service.js';
import type { Caller } from './caller.js';
import { requireUser } from './principal.js';
import { commitAccessChange } from '../realtime/access-change.js';

/** What a deleted account's row is called from then on. */
const DELETED_USER_NAME = 'Deleted user';

/**
 * Deletes the caller's account, given its password (`confirmPassword`). Refused (409, the orgs in
 * `details`) while they are the last owner of an org: they hand it to another owner, or delete it,
 * first; and while their address is in `SUPER_ADMIN_EMAILS`, which would give whoever registers
 * it next the super admin's rights. Otherwise they leave each org as leaving does (`member.left`
 * in its audit log, `member.removed` to the org, the invitations they sent revoked, their sockets
 * out of its rooms); then, in one transaction and only once they belong to no org, what identifies
 * them is erased (email, name, avatar; the password replaced by one no one knows) and every
 * session of theirs ends. A failure between the two leaves the account as it was, in fewer orgs,
 * to be deleted again. The id stays, as the assignee and author of cards and in past events and
 * audit entries, which keep what they recorded. The address can make a new account at once.
 */
export async function deleteAccount(ctx: AppContext, caller: Caller, password: string, client: RequestClient): Promise<void> {
  const { userId, sessionVersion } = requireUser(caller.principal);
  const { user, worker } = await confirmPassword(ctx, caller.principal, password, client);
  if (ctx.config.superAdminEmails.includes(user.email))
    throw conflict('your address is in SUPER_ADMIN_EMAILS: have it taken off the list (and the server restarted) first');
  const lastOwned = await lastOwnedOrgs(ctx, userId);
  if (lastOwned.length > 0) throw lastOwnerOf(lastOwned);
  // Before anything changes: this password work can be refused (too much of it waiting, the caller gone).
  const unusable = await ctx.passwordTurns.hash(worker, newSecret());

  const orgs = await runPlain<OrgName>(
    ctx.orm,
    sql`select o.slug, o.name from memberships m join organizations o on o.id = m.org_id where m.user_id = ${userId}`,
  );
  for (const org of orgs) {
    try {
      await removeMember(ctx, caller, org.slug, userId);
    } catch (error) {
      // Its other owners left, or were demoted, since the check above.
      if (error instanceof LastOwnerRefusal) throw lastOwnerOf([org]);
      // Gone meanwhile (the org deleted, or they were removed): nothing left to leave.
      if (!(error instanceof DomainError && error.code === 'NOT_FOUND')) throw error;
    }
  }

  const erased = await commitAccessChange(ctx, () =>
    identityEm(ctx.orm).transactional(async (em) => {
      // An invitation of the address, which looks for its account under this lock, waits for the
      // erasure, then finds no account; one that found it first has made its member, seen below.
      await lockInvitationsOf(em, user.email);
      const [row] = await em.execute<{ session_version: number }[]>(
        ...sql`update users set email = 'deleted:' || id, name = ${DELETED_USER_NAME}, avatar_url = null,
               email_verified = false, is_super_admin = false, password_hash = ${unusable},
               password_reset_hash = null, password_reset_expires_at = null, session_version = session_version + 1
             where id = ${userId} and session_version = ${sessionVersion}
               and not exists (select 1 from memberships where user_id = ${userId})
             returning session_version`.bound(),
      );
      return row;
    }),
  );
  if (!erased) {
    const [stands] = await runPlain(ctx.orm, sql`select 1 from users where id = ${userId} and session_version = ${sessionVersion}`);
    if (!stands) throw sessionEnded();
    throw conflict('you joined an organization while the account was being deleted: delete it again');
  }
  ctx.broadcaster.endSessions({ userId }, erased.session_version);
  ctx.log.info({ audit: { action: 'account.deleted', userId, ip: caller.ip } }, 'account deleted');
}

/** The refusal while the user is the last owner of these orgs. */
function lastOwnerOf(orgs: OrgName[]): DomainError {
  const names = orgs.map((org) => org.name).join(', ');
  return conflict(`you are the last owner of ${names}: make someone else an owner, or delete it, first`, {
    orgs: orgs.map(({ slug, name }) => ({ slug, name })),
  });
}

import type { EntityManager } from '@mikro-orm/postgresql';
import type { ApiKeyPermission, Role } from '../../shared/roles.js';
import type { Principal } from '../auth/principal.js';
import type { Orm } from './orm.js';

/** What the database says of a principal in an org, read as the tenant transaction opens. */
export type Standing =
  | { kind: 'user'; role: Role | null }
  | { kind: 'bot'; key: { revoked: boolean; permissions: ApiKeyPermission[] } | null }
  | { kind: 'none' };

// The standing is read in the statement that opens the tenant, so it costs no round trip of its
// own. It comes first in the select list, so it is read before the role switch, as the
// connecting role, and it names the org itself rather than leaning on row-level security.
const OPEN_TENANT = `select set_config('role', 'taskflow_app', true), set_config('app.org_id', ?, true)`;
const OPEN_AS_USER = `select (select role from memberships where org_id = ? and user_id = ?) as role,
  set_config('role', 'taskflow_app', true), set_config('app.org_id', ?, true)`;
const OPEN_AS_BOT = `select (select json_build_object('revoked', revoked_at is not null or coalesce(expires_at <= now(), false),
    'permissions', permissions) from api_keys where org_id = ? and id = ?) as key,
  set_config('role', 'taskflow_app', true), set_config('app.org_id', ?, true)`;

/**
 * Runs `work` in one transaction inside one org: a fresh EntityManager fork with the `tenant`
 * filter set, and, in the database, the `taskflow_app` role with `app.org_id`, so that row-level
 * security hides every other org even from a query that skips the filter. With a principal,
 * `work` also gets its standing in the org (membership role, or API key), read fresh.
 */
export async function inTenant<T>(
  orm: Orm,
  orgId: string,
  work: (em: EntityManager, standing: Standing) => Promise<T>,
  principal?: Principal,
): Promise<T> {
  const em = orm.em.fork({ clear: true });
  em.setFilterParams('tenant', { orgId });
  return em.transactional(async (tx) => {
    if (!principal) {
      await tx.execute(OPEN_TENANT, [orgId]);
      return work(tx, { kind: 'none' });
    }
    if (principal.kind === 'user') {
      const [row] = await tx.execute<Array<{ role: Role | null }>>(OPEN_AS_USER, [orgId, principal.userId, orgId]);
      return work(tx, { kind: 'user', role: row?.role ?? null });
    }
    const [row] = await tx.execute<Array<{ key: { revoked: boolean; permissions: ApiKeyPermission[] } | null }>>(OPEN_AS_BOT, [
      orgId,
      principal.keyId,
      orgId,
    ]);
    return work(tx, { kind: 'bot', key: row?.key ?? null });
  });
}

/** A fork for identity work outside any tenant (users, logins, the org directory). */
export function identityEm(orm: Orm): EntityManager {
  return orm.em.fork({ clear: true });
}

import type { EntityManager } from '@mikro-orm/postgresql';
import type { Orm } from './orm.js';

/**
 * Runs `work` in one transaction inside one org: a fresh EntityManager fork with the `tenant`
 * filter set, and, in the database, the `taskflow_app` role with `app.org_id`, so that row-level
 * security hides every other org even from a query that skips the filter.
 */
export async function inTenant<T>(orm: Orm, orgId: string, work: (em: EntityManager) => Promise<T>): Promise<T> {
  const em = orm.em.fork({ clear: true });
  em.setFilterParams('tenant', { orgId });
  return em.transactional(async (tx) => {
    await tx.execute(`select set_config('role', 'taskflow_app', true), set_config('app.org_id', ?, true)`, [orgId]);
    return work(tx);
  });
}

/** A fork for identity work outside any tenant (users, logins, the org directory). */
export function identityEm(orm: Orm): EntityManager {
  return orm.em.fork({ clear: true });
}

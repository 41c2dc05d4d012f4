import type { FastifyInstance } from 'fastify';
import type { Orm } from '../db/orm.js';
import { sql, withScriptConnection } from '../db/sql-script.js';

export interface ReadinessChecks {
  /** 'read-only' while the database answers but takes no writes (a standby after a failover). */
  database(): Promise<'ok' | 'read-only'>;
  redis?(): Promise<void>;
}

const READ_ONLY = sql`select current_setting('transaction_read_only') as read_only`;

/** How often a probe may drop the session that told it the database takes no writes: each drop costs a new session. */
const DROP_EVERY_MS = 1000;

/**
 * The readiness check of `orm`: whether the database takes writes, asked on a pooled session. One
 * that says it takes none is dropped from the pool, once a second at most: it may only remember how
 * the database was when it began (`default_transaction_read_only`, `dropIfReadOnly`), so a later
 * probe asks a session of now.
 */
export function databaseCheck(orm: Orm): ReadinessChecks['database'] {
  let droppedAt = 0;
  return async () => {
    const setting = await withScriptConnection(orm, async (connection) => {
      const [[found]] = (await connection.run(READ_ONLY)) as [[{ read_only: string }]];
      if (found.read_only === 'on' && Date.now() - droppedAt >= DROP_EVERY_MS) {
        droppedAt = Date.now();
        connection.drop('its session takes no writes: dropped from the pool, for one that reads the database as it is now');
      }
      return found.read_only;
    });
    const readOnly = setting ?? (await orm.em.getConnection().execute<Array<{ read_only: string }>>(READ_ONLY.text))[0]?.read_only;
    return readOnly === 'on' ? 'read-only' : 'ok';
  };
}

/**
 * `/healthz`: the process runs. `/readyz`: PostgreSQL (and Redis, where configured) answer, and
 * PostgreSQL takes writes. A change of what `/readyz` finds is logged once, not once a probe, and
 * the probes' own requests only at `warn`: a load balancer probing every second would otherwise
 * log lines a second per node, through an outage and out of it.
 */
export function healthRoutes(checks: ReadinessChecks) {
  // What was checked: a node without Redis names none.
  const named = (database: string, redis: string) => ({ database, ...(checks.redis ? { redis } : {}) });
  let last = JSON.stringify(named('ok', 'ok'));
  // Probes can overlap (a check waits up to 2 s): one that began before the latest one applied is stale.
  let begun = 0;
  let applied = 0;
  return async (app: FastifyInstance) => {
    app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));
    app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
      const probe = ++begun;
      const [databaseCheck, redisCheck] = await Promise.allSettled([
        withTimeout(checks.database()),
        withTimeout(checks.redis?.() ?? Promise.resolve()),
      ]);
      const database = databaseCheck.status === 'fulfilled' ? databaseCheck.value : 'down';
      const redis = redisCheck.status === 'fulfilled' ? 'ok' : 'down';
      const ready = database === 'ok' && redis === 'ok';
      const found = named(database, redis);
      const now = JSON.stringify(found);
      if (probe > applied && now !== last) {
        if (ready) app.log.info(found, 'ready again');
        else app.log.warn(found, 'not ready');
        last = now;
      }
      applied = Math.max(applied, probe);
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', ...found });
    });
  };
}

function withTimeout<T>(check: Promise<T>, ms = 2000): Promise<T> {
  return Promise.race([check, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref())]);
}

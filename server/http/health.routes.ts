import type { FastifyInstance } from 'fastify';

export interface ReadinessChecks {
  /** 'read-only' while the database answers but takes no writes (a standby after a failover). */
  database(): Promise<'ok' | 'read-only'>;
  redis?(): Promise<void>;
}

/**
 * `/healthz`: the process runs. `/readyz`: PostgreSQL (and Redis, where configured) answer, and
 * PostgreSQL takes writes. A change of readiness is logged once, not once a probe: a load
 * balancer probing every second would otherwise log a line a second per node for an outage.
 */
export function healthRoutes(checks: ReadinessChecks) {
  let wasReady = true;
  return async (app: FastifyInstance) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (request, reply) => {
      const [databaseCheck, redisCheck] = await Promise.allSettled([
        withTimeout(checks.database()),
        withTimeout(checks.redis?.() ?? Promise.resolve()),
      ]);
      const database = databaseCheck.status === 'fulfilled' ? databaseCheck.value : 'down';
      const redis = redisCheck.status === 'fulfilled' ? 'ok' : 'down';
      const ready = database === 'ok' && redis === 'ok';
      if (ready !== wasReady) {
        if (ready) request.log.info({ database, redis }, 'ready again');
        else request.log.warn({ database, redis }, 'not ready');
        wasReady = ready;
      }
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', database, ...(checks.redis ? { redis } : {}) });
    });
  };
}

function withTimeout<T>(check: Promise<T>, ms = 2000): Promise<T> {
  return Promise.race([check, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref())]);
}

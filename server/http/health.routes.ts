import type { FastifyInstance } from 'fastify';

export interface ReadinessChecks {
  database(): Promise<void>;
  redis?(): Promise<void>;
}

/** `/healthz`: the process runs. `/readyz`: PostgreSQL (and Redis, where configured) answer. */
export function healthRoutes(checks: ReadinessChecks) {
  return async (app: FastifyInstance) => {
    app.get('/healthz', async () => ({ status: 'ok' }));
    app.get('/readyz', async (request, reply) => {
      const results = await Promise.allSettled([withTimeout(checks.database()), withTimeout(checks.redis?.() ?? Promise.resolve())]);
      const [database, redis] = results.map((r) => (r.status === 'fulfilled' ? 'ok' : 'down'));
      const ready = database === 'ok' && redis === 'ok';
      if (!ready) request.log.warn({ database, redis }, 'not ready');
      return reply.status(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable', database, ...(checks.redis ? { redis } : {}) });
    });
  };
}

function withTimeout(check: Promise<void>, ms = 2000): Promise<void> {
  return Promise.race([check, new Promise<void>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref())]);
}

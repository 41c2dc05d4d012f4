import type { FastifyInstance, RouteHandlerMethod } from 'fastify';
import { DomainError } from '../errors.js';

const NO_ANSWER_IN_TIME = () => new DomainError('UNAVAILABLE', 'no answer from the database in time; try again');

/**
 * Every route answers within `deadlineMs` (`ANSWER_DEADLINE`), as every socket event does: a
 * handler still waiting then (its database connection went silent, a lock held far too long) is
 * answered 503 UNAVAILABLE, with `Retry-After`. A change that commits after that is in the log and
 * is broadcast as any other; a retry with its `clientMutationId` gets its answer. Must be
 * registered before the routes.
 */
export function answerInTime(app: FastifyInstance, deadlineMs: number): void {
  app.addHook('onRoute', (route) => {
    const handler = route.handler as (...args: Parameters<RouteHandlerMethod>) => unknown;
    route.handler = async function (this: FastifyInstance, request, reply) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(NO_ANSWER_IN_TIME()), deadlineMs);
      });
      try {
        return await Promise.race([handler.call(this, request, reply), late]);
      } finally {
        clearTimeout(timer);
      }
    };
  });
}

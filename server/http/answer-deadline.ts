import type { FastifyInstance, FastifyReply } from 'fastify';
import type { WireError } from '../../shared/errors.js';
import { NO_ANSWER_IN_TIME } from '../errors.js';
import type { FailureLog } from '../failure-log.js';

const answeredLate = new WeakSet<FastifyReply>();
const BODY_NOT_IN_TIME: WireError = { code: 'UNAVAILABLE', message: 'the request body did not arrive in time; send it again' };

/** Whether the request was answered 503 at its deadline (from that moment: its answer may still be on its way out). */
export const answeredAtDeadline = (reply: FastifyReply) => answeredLate.has(reply);

/**
 * Every request is answered within `deadlineMs` (`ANSWER_DEADLINE`), as every socket event is:
 * one still unanswered then, in its authentication or its handler (a database connection gone
 * silent, a lock held far too long), is answered 503 UNAVAILABLE, with `Retry-After`. A change
 * that commits after that is in the log and is broadcast as any other; a retry with its
 * `clientMutationId` gets its answer. A response that has begun (a file still streaming to a slow
 * client) is left to finish. The connection closes after the 503: the request's body may still be
 * arriving, and whatever came after on the connection would be read as more of it.
 */
export function answerInTime(app: FastifyInstance, deadlineMs: number, failures: FailureLog): void {
  app.addHook('onRequest', async (request, reply) => {
    const timer = setTimeout(() => {
      if (reply.sent) return;
      answeredLate.add(reply);
      // Its body still arriving, it waited on its client, not on the database.
      const error = request.raw.complete ? NO_ANSWER_IN_TIME : BODY_NOT_IN_TIME;
      if (error === NO_ANSWER_IN_TIME) failures.answeredAtDeadline({ method: request.method, route: request.routeOptions.url });
      void reply.status(503).header('retry-after', '5').header('connection', 'close').send({ error });
      dropLateAnswer(reply);
    }, deadlineMs);
    reply.raw.once('close', () => clearTimeout(timer));
  });
}

/**
 * Once the 503 is sent, the handler's own answer, when its work ends, goes nowhere: fastify would
 * warn that the reply was already sent, with a stack, for each request of a crowd that a stalled
 * database held past the deadline. That warning alone is left out of this request's log.
 */
function dropLateAnswer(reply: FastifyReply): void {
  const log = reply.log;
  const warn = log.warn.bind(log);
  log.warn = ((first: unknown, ...rest: unknown[]) => {
    if ((first as { err?: { code?: unknown } } | null)?.err?.code === 'FST_ERR_REP_ALREADY_SENT') return;
    (warn as (...args: unknown[]) => void)(first, ...rest);
  }) as typeof log.warn;
}

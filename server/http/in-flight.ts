import type { FastifyInstance } from 'fastify';
import { type InFlight, SHUTTING_DOWN, shuttingDown } from '../in-flight.js';
import { answerUnavailable } from './answer-deadline.js';

/**
 * Counts every request in `inFlight` until its response is over (sent, or its connection gone),
 * so that a stop waits for it; once the stop has begun a request is answered 503 UNAVAILABLE, and
 * so is one still waiting when the stop's wait runs out.
 */
export function countRequests(app: FastifyInstance, inFlight: InFlight): void {
  app.addHook('onRequest', async (_request, reply) => {
    const leave = inFlight.enter(() => answerUnavailable(reply, SHUTTING_DOWN));
    if (!leave) throw shuttingDown();
    reply.raw.once('close', leave);
  });
}

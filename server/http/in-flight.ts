import type { FastifyInstance } from 'fastify';
import { type InFlight, shuttingDown } from '../in-flight.js';

/**
 * Counts every request in `inFlight` until its response is over (sent, or its connection gone),
 * so that a stop waits for it; once the stop has begun a request is answered 503 UNAVAILABLE.
 */
export function countRequests(app: FastifyInstance, inFlight: InFlight): void {
  app.addHook('onRequest', async (_request, reply) => {
    if (!inFlight.enter()) throw shuttingDown();
    reply.raw.once('close', () => inFlight.leave());
  });
}

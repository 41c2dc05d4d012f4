import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type InFlight, shuttingDown } from '../in-flight.js';

/** What a stop does with the requests under way that `countRequests` counts. */
export interface CountedRequests {
  /**
   * Answers 503 UNAVAILABLE, closing their connections, the requests whose bodies are still
   * arriving: nothing of theirs has begun, and a client trickling one would hold the stop for
   * its whole wait.
   */
  turnAwayArriving(): void;
}

/**
 * Counts every request in `inFlight` until its response is over (sent, or its connection gone),
 * so that a stop waits for it; once the stop has begun a request is answered 503 UNAVAILABLE.
 */
export function countRequests(app: FastifyInstance, inFlight: InFlight): CountedRequests {
  const underWay = new Map<FastifyReply, FastifyRequest>();
  app.addHook('onRequest', async (request, reply) => {
    if (!inFlight.enter()) throw shuttingDown();
    underWay.set(reply, request);
    reply.raw.once('close', () => {
      underWay.delete(reply);
      inFlight.leave();
    });
  });
  return {
    turnAwayArriving() {
      for (const [reply, request] of underWay) {
        // The connection closes after it: the rest of the body would be read as another request.
        if (!request.raw.complete && !reply.sent) void reply.header('connection', 'close').send(shuttingDown());
      }
    },
  };
}

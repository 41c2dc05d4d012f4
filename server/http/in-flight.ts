import type { FastifyInstance, FastifyReply } from 'fastify';
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
  const underWay = new Set<FastifyReply>();
  app.addHook('onRequest', async (_request, reply) => {
    if (!inFlight.enter()) throw shuttingDown();
    underWay.add(reply);
    reply.raw.once('close', () => {
      underWay.delete(reply);
      inFlight.leave();
    });
  });
  return {
    turnAwayArriving() {
      for (const reply of underWay) {
        // The connection closes after it: the rest of the body would be read as another request.
        if (!reply.request.raw.complete && !reply.sent) void reply.header('connection', 'close').send(shuttingDown());
      }
    },
  };
}

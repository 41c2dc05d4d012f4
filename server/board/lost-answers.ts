import type { Redis } from 'ioredis';

/**
 * The tries of changes whose answers a node lost (answered UNAVAILABLE, maybe committed), told to
 * every node on the same Redis, so that one of them sends out the event such a try logged: the
 * node that lost the answer, once it finds the event in the log, or another node that answers a
 * retry of the change from the log, should the first have stopped before it could look (a deploy
 * or a crash during a database outage). Whichever node claims the try first sends it, and no other.
 */
export interface LostAnswers {
  /** Tells the nodes that try `eventId` of a change may have committed unanswered; resolves whether Redis took it. */
  tell(projectId: string, clientMutationId: string, eventId: string): Promise<boolean>;
  /** Claims the sending of the event try `eventId` logged: true for the one node to send it, false if a node was told of no such try, null if Redis could not say. */
  claim(projectId: string, clientMutationId: string, eventId: string): Promise<boolean | null>;
}

/** As long as the node that lost an answer goes on looking for it in the log (`BoardEventOrder`). */
export const LOST_ANSWER_MS = 10 * 60_000;

/** One set a change: the row ids of its tries whose answers were lost. */
const keyOf = (projectId: string, clientMutationId: string) => `taskflow:lost-answers:${projectId}:${clientMutationId}`;

export function lostAnswersIn(redis: Redis): LostAnswers {
  return {
    tell: (projectId, clientMutationId, eventId) =>
      redis
        .multi()
        .sadd(keyOf(projectId, clientMutationId), eventId)
        .pexpire(keyOf(projectId, clientMutationId), LOST_ANSWER_MS)
        .exec()
        .then(
          (replies) => replies !== null && replies.every(([error]) => error === null),
          () => false,
        ),
    // SREM answers 1 once: the node it answers 1 sends the event.
    claim: (projectId, clientMutationId, eventId) =>
      redis.srem(keyOf(projectId, clientMutationId), eventId).then(
        (removed) => removed === 1,
        () => null,
      ),
  };
}

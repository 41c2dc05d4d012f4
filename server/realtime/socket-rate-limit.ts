import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { WireError } from '../../shared/errors.js';
import type { TaskFlowSocket } from './types.js';

/**
 * Limits each socket to `perSecond` events a second on average, in bursts of up to twice that
 * (a window of two seconds holds 2 × `perSecond`), as DESIGN's `SOCKET_RATE_LIMIT` says. An
 * event over the limit is answered RATE_LIMITED; a socket that keeps sending through a whole
 * window of refusals is disconnected. `perSecond` 0 turns the limit off. What one account's many
 * sockets can take from the node is bounded by its lane instead (`PrincipalLanes`).
 */
export function createSocketRateLimit(perSecond: number): ((socket: TaskFlowSocket) => void) | null {
  if (perSecond <= 0) return null;
  const limiter = new RateLimiterMemory({ points: perSecond * 2, duration: 2 });
  return (socket) => {
    let refusedInARow = 0;
    socket.use((packet, next) => {
      limiter.consume(socket.id).then(
        () => {
          refusedInARow = 0;
          next();
        },
        (res: { msBeforeNext?: number }) => {
          refusedInARow += 1;
          const ack = packet.at(-1);
          const error: WireError = {
            code: 'RATE_LIMITED',
            message: `over ${perSecond} events a second`,
            details: { retryAfterMs: res.msBeforeNext ?? 1000 },
          };
          if (typeof ack === 'function') ack({ ok: false, error });
          if (refusedInARow > perSecond * 2) socket.disconnect(true);
        },
      );
    });
  };
}

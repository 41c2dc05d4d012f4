import type { WireError } from '../../shared/errors.js';
import { closeOnceAnswered } from './ack.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TaskFlowSocket } from './types.js';

/**
 * Limits each socket to `perSecond` events a second on average, in bursts of up to twice that,
 * as DESIGN's `SOCKET_RATE_LIMIT` says: a token bucket of 2 × `perSecond` tokens that refills at
 * `perSecond` a second, one token an event. (rate-limiter-flexible, used for the HTTP limits,
 * counts in fixed windows, which let a full window's worth through at the end of one window and
 * again at the start of the next: four times the rate at once.) An event over the limit is
 * answered RATE_LIMITED; a socket that keeps sending through a whole burst's worth of refusals
 * in a row (none let through) is disconnected, once the events it sent before are answered. A
 * steady flood, one event let through whenever a token refills, is answered and kept: the SDK's
 * paced rejoins are one (README, Abuse). `perSecond` 0 turns the limit
 * off. What one account's many sockets can take from the node is bounded by its lane instead
 * (`Lanes`).
 */
export function createSocketRateLimit(perSecond: number, metrics: Metrics): ((socket: TaskFlowSocket) => void) | null {
  if (perSecond <= 0) return null;
  const burst = perSecond * 2;
  return (socket) => {
    let tokens = burst;
    let filledAt = performance.now();
    let refusedInARow = 0;
    socket.use((packet, next) => {
      const now = performance.now();
      tokens = Math.min(burst, tokens + ((now - filledAt) * perSecond) / 1000);
      filledAt = now;
      if (tokens >= 1) {
        tokens -= 1;
        refusedInARow = 0;
        next();
        return;
      }
      refusedInARow += 1;
      const ack = packet.at(-1);
      const error: WireError = {
        code: 'RATE_LIMITED',
        message: `over ${perSecond} events a second`,
        details: { retryAfterMs: Math.ceil(((1 - tokens) * 1000) / perSecond) },
      };
      if (typeof ack === 'function') {
        ack({ ok: false, error });
        metrics.socketEvent(packet[0], error.code, 0);
      }
      if (refusedInARow > burst) closeOnceAnswered(socket, () => socket.disconnect(true));
    });
  };
}

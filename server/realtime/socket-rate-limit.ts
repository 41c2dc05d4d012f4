import type { WireError } from '../../shared/errors.js';
import { closeOnceAnswered } from './ack.js';
import type { Metrics } from '../metrics/metrics.js';
import type { TaskFlowSocket } from './types.js';

/**
 * The refusal rate past which a flood uses up its allowance: the SDK's paced rejoins after a
 * reconnect (four board requests at a time, each sent again after the delay its refusal names)
 * are refused about four times as often as the rate lets one through, five with a mutation beside.
 */
const FLOOD_TIMES_THE_RATE = 10;
/**
 * The allowance, in seconds of refusals at that rate: what comes at once (a bot's thousand creates,
 * say) is all answered, and a flood refused at R times the rate lasts 5 × 10 / (R − 10) seconds.
 */
const FLOOD_SECONDS = 5;

/**
 * Limits each socket to `perSecond` events a second on average, in bursts of up to twice that,
 * as DESIGN's `SOCKET_RATE_LIMIT` says: a token bucket of 2 × `perSecond` tokens that refills at
 * `perSecond` a second, one token an event. (rate-limiter-flexible, used for the HTTP limits,
 * counts in fixed windows, which let a full window's worth through at the end of one window and
 * again at the start of the next: four times the rate at once.) An event over the limit is
 * answered RATE_LIMITED. A sustained flood is disconnected, once the events it sent before are
 * answered: refusals have a bucket of their own, of `FLOOD_SECONDS` × `FLOOD_TIMES_THE_RATE` ×
 * `perSecond`, refilled at `FLOOD_TIMES_THE_RATE` × `perSecond` a second, and the refusal that
 * finds it empty disconnects the socket. A burst sent at once is answered whole, each event ok or
 * RATE_LIMITED, up to some fifty times the rate; a steady flood refused under ten times the rate
 * is answered and kept. `perSecond` 0 turns the limit off. What one account's many sockets can take from the
 * node is bounded by its lane instead (`Lanes`).
 */
export function createSocketRateLimit(perSecond: number, metrics: Metrics): ((socket: TaskFlowSocket) => void) | null {
  if (perSecond <= 0) return null;
  const burst = perSecond * 2;
  const floodRate = perSecond * FLOOD_TIMES_THE_RATE;
  const floodAllowance = floodRate * FLOOD_SECONDS;
  return (socket) => {
    let tokens = burst;
    let refusals = floodAllowance;
    let filledAt = performance.now();
    socket.use((packet, next) => {
      const now = performance.now();
      const seconds = (now - filledAt) / 1000;
      tokens = Math.min(burst, tokens + seconds * perSecond);
      refusals = Math.min(floodAllowance, refusals + seconds * floodRate);
      filledAt = now;
      if (tokens >= 1) {
        tokens -= 1;
        next();
        return;
      }
      refusals -= 1;
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
      if (refusals < 0) closeOnceAnswered(socket, () => socket.disconnect(true));
    });
  };
}

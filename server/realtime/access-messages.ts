import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AdmitOrder, RevokeOrder } from './types.js';

/**
 * The messages that nodes send each other on PostgreSQL's channel (`access-relay.ts`): a
 * revocation, an admission, a node's link that is back, asking every node to re-check its sockets,
 * or a node stopping whose board events Redis may have lost, asking the others to catch up.
 */
export type AccessMessage =
  { kind: 'revoke'; order: RevokeOrder } | { kind: 'admit'; order: AdmitOrder } | { kind: 'sweep' } | { kind: 'catch-up' };

/** When a message was sent, by its sender's clock, and an id of its own: signed with it, so that it is taken once. */
export interface AccessMessageStamp {
  sentAt: number;
  id: string;
}

/**
 * How long after it was sent a message on the channel is taken, its sender's clock read against
 * its reader's (so the nodes' clocks must agree within it). Anyone who may listen there may record a
 * message and send it again: later than this it is refused as old, sooner as one seen before.
 */
export const MESSAGE_MS = 60_000;

/**
 * A message as it travels on the channel: its JSON, stamped, after its HMAC under a key made from
 * the nodes' `JWT_SECRET`. Any role that may connect to the database may send on a channel of it
 * (another application's, on a shared server), and an order it made up, or one it recorded and
 * sent again (a member's kick, after they were let back in), would kick members off their boards.
 */
export function signedAccessMessage(
  secret: string,
  message: AccessMessage,
  stamp: AccessMessageStamp = { sentAt: Date.now(), id: randomBytes(12).toString('base64url') },
): string {
  const json = JSON.stringify({ ...message, ...stamp });
  return `${mac(secret, json)}.${json}`;
}

/**
 * Reads what arrives on the channel: the message a payload carries if it is signed with `secret`,
 * was sent within `MESSAGE_MS` of `now()`, not before the reader was made (`NOTIFY` reaches only those
 * listening: none was sent to it then), and was not read before; else null. `outOfTime` hears of a
 * signed message sent more than `MESSAGE_MS` away from now: a clock apart, or a recording.
 */
export function accessMessageReader(
  secret: string,
  options: { now?: () => number; seen?: Map<string, number>; outOfTime?: (aheadMs: number) => void } = {},
) {
  const now = options.now ?? Date.now;
  const since = now();
  const seen = options.seen ?? new Map<string, number>(); // each message taken, by id: when it was sent, until it is too old to be taken anyway
  return (payload: string): { kind?: unknown; order?: unknown } | null => {
    const message = signedJson(secret, payload) as
      ({ kind?: unknown; order?: unknown } & Partial<Record<keyof AccessMessageStamp, unknown>>) | null;
    if (!message || typeof message.sentAt !== 'number' || typeof message.id !== 'string') return null;
    const at = now();
    for (const [id, sentAt] of seen) if (at - sentAt > MESSAGE_MS) seen.delete(id);
    if (Math.abs(at - message.sentAt) > MESSAGE_MS) {
      options.outOfTime?.(message.sentAt - at);
      return null;
    }
    if (message.sentAt < since || seen.has(message.id)) return null;
    seen.set(message.id, message.sentAt);
    return message;
  };
}

/** The JSON object `payload` carries, if it is signed with `secret`; else null. */
function signedJson(secret: string, payload: string): object | null {
  const dot = payload.indexOf('.');
  const [given, json] = [Buffer.from(payload.slice(0, dot)), payload.slice(dot + 1)];
  const expected = Buffer.from(mac(secret, json));
  if (dot < 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const message = JSON.parse(json) as unknown;
    return typeof message === 'object' && message !== null ? message : null;
  } catch {
    return null;
  }
}

function mac(secret: string, json: string): string {
  const key = createHmac('sha256', secret).update('taskflow access channel').digest();
  return createHmac('sha256', key).update(json).digest('base64url');
}

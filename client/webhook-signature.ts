import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a delivery's time may be from the receiver's clock, by default: five minutes. */
const TOLERANCE_SECONDS = 300;

/**
 * Whether a webhook delivery came from TaskFlow with the webhook's `secret` (Node only; not
 * exported by `index.ts`, which the browser loads): its `x-taskflow-signature` (`t=<seconds>,v1=<hex>`)
 * is the HMAC-SHA256 of `<t>.<body>` for the raw body as received, and `t` is within
 * `toleranceSeconds` of `now` (an older one is a replay). Compare before parsing the body.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | string[] | undefined,
  rawBody: string | Buffer,
  { now = Date.now(), toleranceSeconds = TOLERANCE_SECONDS } = {},
): boolean {
  const match = typeof header === 'string' ? /^t=(\d{1,12}),v1=([0-9a-f]{64})$/.exec(header) : null;
  if (!match) return false;
  const time = Number(match[1]);
  if (Math.abs(now / 1000 - time) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${time}.`).update(rawBody).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}

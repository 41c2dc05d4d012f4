import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { hostAddress, isPrivateAddress, publicLookup } from './webhook-address.js';

/** How long a receiver has to answer a delivery. */
export const DELIVERY_TIMEOUT_MS = 10_000;

/** A delivery as it is sent: its id and event type go in headers, its body is the JSON as stored. */
export interface Outgoing {
  id: string;
  webhookId: string;
  eventType: string;
  body: string;
  url: string;
  secret: string;
}

/** How one try went: delivered (a 2xx), or why not, in a few words, with the status where one came. */
export type TryResult = { delivered: true; status: number } | { delivered: false; status: number | null; error: string };

/**
 * The signature header of a body sent at `time` (seconds since the epoch): `t=<time>,v1=<hex>`,
 * the HMAC-SHA256 of `<time>.<body>` under the webhook's secret. A receiver computes the same over
 * the raw body it got and compares, and refuses a `t` too far from its clock (a replay).
 */
export function signature(secret: string, time: number, body: string): string {
  return `t=${time},v1=${createHmac('sha256', secret).update(`${time}.${body}`).digest('hex')}`;
}

/**
 * POSTs one delivery: no redirect is followed, the answer's body is read and dropped, and a
 * receiver that has not answered within `DELIVERY_TIMEOUT_MS` (or once `signal` aborts) fails the try.
 * Unless `allowPrivate`, an address or a name that resolves to a private network is refused.
 */
export function sendDelivery(outgoing: Outgoing, allowPrivate: boolean, signal: AbortSignal): Promise<TryResult> {
  const url = new URL(outgoing.url);
  const address = hostAddress(url);
  if (!allowPrivate && address !== null && isPrivateAddress(address))
    return Promise.resolve({ delivered: false, status: null, error: `refused: ${address} is a private address` });
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const timeout = AbortSignal.timeout(DELIVERY_TIMEOUT_MS);
    const client = request(url, {
      method: 'POST',
      signal: AbortSignal.any([signal, timeout]),
      ...(allowPrivate ? {} : { lookup: publicLookup }),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'TaskFlow-Webhooks/1',
        'x-taskflow-event': outgoing.eventType,
        'x-taskflow-delivery': outgoing.id,
        'x-taskflow-webhook': outgoing.webhookId,
        'x-taskflow-signature': signature(outgoing.secret, Math.floor(Date.now() / 1000), outgoing.body),
      },
    });
    client.on('response', (response) => {
      const status = response.statusCode ?? 0;
      response.resume(); // read and dropped: what a receiver answers is not kept
      response.on('end', () =>
        resolve(status >= 200 && status < 300 ? { delivered: true, status } : { delivered: false, status, error: `answered ${status}` }),
      );
      response.on('error', () => resolve({ delivered: false, status, error: 'the answer broke off' }));
    });
    client.on('error', (error: NodeJS.ErrnoException) => {
      const why = timeout.aborted
        ? `no answer within ${DELIVERY_TIMEOUT_MS / 1000} s`
        : signal.aborted
          ? 'the server stopped during the try'
          : error.code === 'EPRIVATE' || error.code === 'ENOTFOUND'
            ? `refused: ${url.hostname} has no public address` // the same either way: which inside names exist is not told
            : `${error.code ?? 'failed'} connecting to ${url.host}`; // not the message: it names the address a name resolved to
      resolve({ delivered: false, status: null, error: why.slice(0, 300) });
    });
    client.end(outgoing.body);
  });
}

import type { ServerOptions } from 'node:http';

/**
 * How long a whole request, its headers and its body, may take to arrive. A legitimate client
 * sends a few KB of JSON at once (at most 1 MiB, which at 30 s still needs only 35 KB/s, and a
 * proxy in front forwards a body it has buffered at LAN speed); a client that trickles its request
 * a byte at a time (slowloris) would otherwise hold its connection, and the memory of its
 * half-parsed request, for good. It covers receiving only, never the answer: a socket.io
 * long-polling GET has arrived whole once its headers have, however long the server then holds
 * its response (up to pingInterval + pingTimeout), and a websocket leaves the HTTP parser at its
 * upgrade.
 */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Fastify's options for it. Node's `requestTimeout` (which Fastify's sets, and defaults to 0: no
 * limit) is the one that cuts a slow body; its `headersTimeout` (60 s by default) cuts slow
 * headers, and Node swaps the two when headersTimeout is the larger, which would leave bodies 60 s,
 * so both are set. Node checks them only every `connectionsCheckingInterval` (30 s by default), so
 * it checks every tenth of the timeout: a slow request is cut within 110% of it. Not
 * `connectionTimeout` (an idle timer on the socket): a long-polling GET is idle while it is held,
 * and would be cut.
 */
export function requestTimeouts(ms: number = REQUEST_TIMEOUT_MS): { requestTimeout: number; http: ServerOptions } {
  return {
    requestTimeout: ms,
    http: { requestTimeout: ms, headersTimeout: ms, connectionsCheckingInterval: Math.max(10, Math.round(ms / 10)) },
  };
}

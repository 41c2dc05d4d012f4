import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { Server as HttpServer } from 'node:http';
import type { Server } from 'socket.io';

/**
 * The headers every answer carries (helmet's): a Content-Security-Policy that lets the web board
 * load only its own files and talk only to its own origin, and no page frame it (a signed-in
 * board under another page's buttons); no MIME sniffing; no Referer, so no page's address (an
 * invitation's, say) goes to another site. No HSTS: whether people reach the server over TLS is
 * the proxy's to know, and it is the one to set it.
 */
export async function securityHeaders(app: FastifyInstance): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      directives: {
        'connect-src': ["'self'"], // the API and socket.io's WebSocket, on the page's own origin
        'frame-ancestors': ["'none'"],
        'upgrade-insecure-requests': null, // a server on plain HTTP (a laptop, a LAN) would break its own page
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: false,
  });
}

/**
 * What the answers fastify never sees carry (socket.io's own, long-polling's and a WebSocket's
 * upgrade; the HTTP parser's refusals): they are data, never a page, so nothing may run, load,
 * sniff or frame them, and none sends a Referer.
 */
export const DATA_ANSWER_HEADERS = {
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
};

/**
 * Adds `DATA_ANSWER_HEADERS` to every answer of socket.io's engine, which fastify never sees: those
 * it accepts (its `headers` event, a WebSocket's upgrade included) and those it refuses over HTTP
 * (JSONP, a foreign origin, a bad version), which it writes with no event, so they are set on the
 * answer before the engine takes the request. (A refused upgrade is a raw 400 on the TCP socket.)
 */
export function securityHeadersOnSockets(io: Server, httpServer: HttpServer): void {
  io.engine.on('headers', (headers: Record<string, string>) => Object.assign(headers, DATA_ANSWER_HEADERS));
  const enginePath = enginePathOf(io);
  httpServer.prependListener('request', (request, answer) => {
    if (request.url?.startsWith(enginePath)) for (const [name, value] of Object.entries(DATA_ANSWER_HEADERS)) answer.setHeader(name, value);
  });
}

/** The start of every URL socket.io's engine serves (`/socket.io/`), which fastify never sees. */
const enginePathOf = (io: Server) => `${io.path().replace(/\/$/, '')}/`;

import type { FastifyRequest } from 'fastify';

/** Query parameters whose values are secrets: an invitation link mailed before its token moved to the fragment (`/invite?token=…`). */
const SECRET_PARAMS = /([?&]token=)[^&#]*/gi;

/**
 * A request as the log writes it: what fastify writes (method, URL, host, client), with the value
 * of a `token` parameter in the URL written as `[redacted]`.
 */
export function loggedRequest(request: FastifyRequest): Record<string, unknown> {
  return {
    method: request.method,
    url: request.url.replace(SECRET_PARAMS, '$1[redacted]'),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

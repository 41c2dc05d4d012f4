import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { ConnectionError, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HTTP_STATUS, type WireError } from '../../shared/errors.js';
import type { FailureLog } from '../failure-log.js';
import { DATA_ANSWER_HEADERS } from './security-headers.js';

/** Fastify's own refusals, in the contract's codes. */
function fastifyRefusal(error: FastifyError): WireError | null {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is over 1 MiB' };
  if (error.code?.startsWith('FST_ERR_CTP_') || error.statusCode === 400) return { code: 'VALIDATION_FAILED', message: error.message };
  return null;
}

/**
 * A refusal a plugin raised with a 4xx status of its own (an `http-errors` error, marked to be
 * shown): the web board's files answer 412 to a failed `If-Match`, and 416 (with its
 * `Content-Range`) to a range past the end. The client's fault, kept as such, never logged as a bug.
 */
function pluginRefusal(error: FastifyError): { status: number; headers: Record<string, string> } | null {
  const { status, expose, headers } = error as FastifyError & { status?: number; expose?: boolean; headers?: Record<string, string> };
  if (!expose || !status || status < 400 || status >= 500) return null;
  return { status, headers: headers ?? {} };
}

/** The one place HTTP answers errors: `{error: {code, message, details?}}`, 5xx with no detail from inside. */
export function registerErrorHandling(app: FastifyInstance, failures: FailureLog): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const refused = pluginRefusal(error);
    if (refused)
      return reply
        .status(refused.status)
        .headers(refused.headers)
        .send({ error: { code: 'VALIDATION_FAILED', message: error.message } });
    const wire = fastifyRefusal(error) ?? failures.answer(error, {}, 'request failed', request.log);
    if (wire.code === 'UNAVAILABLE') reply.header('retry-after', '5');
    const retryAfter = (wire.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
    if (wire.code === 'RATE_LIMITED' && retryAfter) reply.header('retry-after', String(retryAfter));
    return reply.status(HTTP_STATUS[wire.code]).send({ error: wire });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` } }),
  );
}

/**
 * The router's own refusals, before any route runs (Fastify's `frameworkErrors`): a path that is
 * not valid percent-encoding, or a segment over the router's 100 characters, names nothing here,
 * so it is 404 `NOT_FOUND` in the contract's shape, as any unknown slug or id is.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error.code !== 'FST_ERR_BAD_URL' && error.code !== 'FST_ERR_MAX_PARAM_LENGTH') request.log.warn({ err: error }, 'router refusal');
  void reply.status(404).send({ error: { code: 'NOT_FOUND', message: 'no such resource' } });
}

/**
 * What Node's HTTP parser refuses before Fastify sees a request (the server's `clientError`), in
 * the contract's codes, with the status Node would answer.
 */
function parserRefusal(code: string): { status: number; error: WireError } {
  switch (code) {
    // The client's fault, not the server's: not UNAVAILABLE, which clients retry as they would an outage.
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, error: { code: 'VALIDATION_FAILED', message: 'the request did not arrive whole in time' } };
    // Too large, not malformed: PAYLOAD_TOO_LARGE tells the client to send less (a huge cookie, an
    // overlong URL), where VALIDATION_FAILED would say its input has the wrong form. The status
    // stays 431, which says which part was too large.
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, error: { code: 'PAYLOAD_TOO_LARGE', message: 'the request line and headers are over 16 KB' } };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, error: { code: 'PAYLOAD_TOO_LARGE', message: 'the chunk extensions are too large' } };
    default:
      return { status: 400, error: { code: 'VALIDATION_FAILED', message: `malformed HTTP request (${code})` } };
  }
}

/**
 * Fastify's `clientErrorHandler`: a request the HTTP parser refuses (a bad or duplicate
 * Content-Length, Content-Length with Transfer-Encoding, a malformed header line, an unknown
 * method, headers over 16 KB) or that did not arrive in time is answered in the contract's shape,
 * as the error handler above answers the router's refusals, and its connection is closed, as
 * Fastify's default does: after a parse error the rest of the stream cannot be trusted.
 */
export function answerClientError(this: FastifyInstance, error: ConnectionError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, error: wire } = parserRefusal(error.code);
  // Not the error itself: its raw packet may hold an Authorization header, which no redaction sees there.
  this.log.debug({ code: error.code, status }, 'refused by the HTTP parser');
  // As Node does: answer only when no response of an earlier request on this connection has begun,
  // else the bytes would land in the middle of it.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify({ error: wire });
    const secure = Object.entries(DATA_ANSWER_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`);
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n${secure.join('')}` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

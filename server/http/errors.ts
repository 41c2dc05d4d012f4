import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HTTP_STATUS, type WireError } from '../../shared/errors.js';
import { toWireError } from '../errors.js';

/** Fastify's own refusals, in the contract's codes. */
function fastifyRefusal(error: FastifyError): WireError | null {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { code: 'PAYLOAD_TOO_LARGE', message: 'the request body is over 1 MiB' };
  if (error.code?.startsWith('FST_ERR_CTP_') || error.statusCode === 400) return { code: 'VALIDATION_FAILED', message: error.message };
  return null;
}

/** The one place HTTP answers errors: `{error: {code, message, details?}}`, 5xx with no detail from inside. */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const refusal = fastifyRefusal(error);
    const { error: wire, unexpected } = refusal ? { error: refusal, unexpected: false } : toWireError(error);
    if (unexpected) request.log.error({ err: error }, 'request failed');
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

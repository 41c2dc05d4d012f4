import type { FastifyInstance } from 'fastify';

/**
 * JSON bodies, parsed as Fastify does (`__proto__` and `constructor.prototype` refused), except
 * that an empty body under a JSON content type is no body: many clients send the header with every
 * request, a DELETE or `POST /auth/refresh` too, which Fastify would refuse with 400. A route that
 * needs a body still refuses its absence, through its schema.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text === '') done(null, undefined);
    else parse(request, text, done);
  });
}

import type { FastifyInstance } from 'fastify';
import { MAX_MESSAGE_VALUES } from '../../shared/events.js';
import { invalid } from '../errors.js';
import { countValues, tooManyValues } from '../json-values.js';

/** The charsets a body may declare: UTF-8, or ASCII, which is UTF-8 too. */
const UTF8_COMPATIBLE = new Set(['utf-8', 'utf8', 'us-ascii', 'ascii']);
/** A body's text: UTF-8 only (a byte-order mark before it is dropped), and nothing that is not valid UTF-8. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON bodies, parsed as Fastify does (`__proto__` and `constructor.prototype` refused), except
 * that an empty body under a JSON content type is no body: many clients send the header with every
 * request, a DELETE or `POST /auth/refresh` too, which Fastify would refuse with 400. A route that
 * needs a body still refuses its absence, through its schema. A body is UTF-8 (JSON's own encoding):
 * one in another charset, or with bytes that are not UTF-8, is refused, where decoding it anyway
 * would have stored U+FFFD in place of the client's letters. One of more than `MAX_MESSAGE_VALUES`
 * values is refused unread (`countValues`).
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(request.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && !UTF8_COMPATIBLE.has(charset)) return done(invalid('a JSON body must be UTF-8'), undefined);
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(invalid('the body is not valid UTF-8'), undefined);
    }
    if (text === '') return done(null, undefined);
    if (countValues(text, MAX_MESSAGE_VALUES) > MAX_MESSAGE_VALUES) return done(tooManyValues(), undefined);
    parse(request, text, (error, value) => {
      // Fastify calls a refused `__proto__` "not valid JSON" too, which sends its author hunting for a typo.
      if (error && isJson(text)) done(invalid('a JSON body may not have a "__proto__" or "constructor.prototype" key'), undefined);
      else done(error, value);
    });
  });
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

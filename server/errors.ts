import { DriverException, UniqueConstraintViolationException } from '@mikro-orm/core';
import { ZodError } from 'zod';
import type { ErrorCode, WireError } from '../shared/errors.js';

/** A refusal with a code from the closed list in `shared/errors.ts`, safe to show the caller. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/**
 * A refusal because the principal no longer belongs to the org (membership gone, key revoked).
 * It answers like `refusal`; a socket that still sits in the org's rooms is then revoked on the
 * spot, so a kick lost with Redis is made good at the socket's next try.
 */
export class AccessLost extends DomainError {
  constructor(
    refusal: DomainError,
    readonly orgId: string,
    readonly reason: 'removed' | 'key_revoked',
  ) {
    super(refusal.code, refusal.message, refusal.details);
  }
}

export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found`);
export const forbidden = (message = 'not allowed') => new DomainError('FORBIDDEN', message);
export const notAMember = () => forbidden('not a member of this organization');
export const invalid = (message: string, details?: unknown) => new DomainError('VALIDATION_FAILED', message, details);
export const conflict = (message: string, details?: unknown) => new DomainError('CONFLICT', message, details);
export const unauthorized = (message = 'authentication required') => new DomainError('UNAUTHORIZED', message);

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
  // The database refuses connections for now (`ALTER DATABASE … ALLOW_CONNECTIONS false`, a shutdown under way).
  '55000',
  // No connection slot left ("too many clients already", a role's or database's connection limit).
  '53300',
]);

/** Whether an error means the database could not be reached, rather than a bug. */
export function isUnavailable(error: unknown): boolean {
  const e = error as { code?: string; name?: string; message?: string } | null;
  if (!e) return false;
  if (e.code && UNAVAILABLE_CODES.has(e.code)) return true;
  if (e.name === 'KnexTimeoutError') return true;
  // knex's "Transaction query already complete": BEGIN failed on a connection that had just died,
  // and the statement after it finds the transaction over (every transaction here is em.transactional);
  // "Unable to acquire a connection": the pool is closed, as when a stop outlasts its drain;
  // "is not queryable": pg's client after its connection broke; "timeout expired": pg's client
  // gave up on a new connection (`connectionTimeoutMillis`: a host that does not answer).
  return /Connection terminated|connect ECONNREFUSED|Timeout acquiring a connection|Transaction query already complete|Unable to acquire a connection|is not queryable|^timeout expired$/i.test(
    e.message ?? '',
  );
}

/**
 * The one translation from anything thrown to the wire: domain errors keep their code and
 * message, schema failures become VALIDATION_FAILED, a lost database UNAVAILABLE, and
 * everything else INTERNAL with no detail from inside (`unexpected` is true so it gets logged).
 */
export function toWireError(error: unknown): { error: WireError; unexpected: boolean } {
  if (error instanceof DomainError) {
    const details = error.details === undefined ? {} : { details: error.details };
    return { error: { code: error.code, message: error.message, ...details }, unexpected: false };
  }
  if (error instanceof ZodError) {
    const details = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
    return { error: { code: 'VALIDATION_FAILED', message: 'the payload does not match the schema', details }, unexpected: false };
  }
  if (error instanceof UniqueConstraintViolationException) {
    return { error: { code: 'CONFLICT', message: 'that already exists' }, unexpected: false };
  }
  const cause = error instanceof DriverException ? ((error as { cause?: unknown }).cause ?? error) : error;
  if (isUnavailable(error) || isUnavailable(cause)) {
    return { error: { code: 'UNAVAILABLE', message: 'the database is unavailable; try again' }, unexpected: true };
  }
  return { error: { code: 'INTERNAL', message: 'internal error' }, unexpected: true };
}

/** The answer to a socket event or HTTP request still waiting at `ANSWER_DEADLINE`. */
export const NO_ANSWER_IN_TIME: WireError = { code: 'UNAVAILABLE', message: 'no answer from the database in time; try again' };

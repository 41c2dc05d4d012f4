import { DriverException, NotFoundError, UniqueConstraintViolationException } from '@mikro-orm/core';
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
    readonly reason: 'removed' | 'key_revoked' | 'signed_out' | 'token_expired',
  ) {
    super(refusal.code, refusal.message, refusal.details);
  }
}

export const notFound = (what: string) => new DomainError('NOT_FOUND', `${what} not found`);
export const sessionEnded = () => new DomainError('UNAUTHORIZED', 'this session was ended: sign in again');
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
  // A session PostgreSQL ended for idling inside a transaction (`idle_in_transaction_session_timeout`:
  // a node frozen a minute mid-change, the rolling review) or idling at all (`idle_session_timeout`).
  // A transaction a bug left open that long ends so too, and is answered and logged as such.
  // Its board's changes waiting behind it fail with it (`BoardQueue`), UNAVAILABLE, for their clients to retry.
  '25P03',
  '57P05',
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

/** PostgreSQL's SQLSTATE for a transaction it rolled back to end a deadlock. */
export const DEADLOCK = '40P01';

/**
 * PostgreSQL's refusals that a later try can get past: a deadlock or serialization failure, a
 * statement cancelled (an administrator's `pg_cancel_backend`, a `statement_timeout`), a lock not
 * had in time (`lock_timeout`), a database that takes no writes for now (a standby after a
 * failover, `default_transaction_read_only`), a disk with no room left (`53100`: answered INTERNAL
 * before, which the SDK does not retry, and logged with a stack each time). Nothing was committed:
 * answered UNAVAILABLE.
 */
const TRY_AGAIN_CODES = new Set([DEADLOCK, '40001', '57014', '55P03', '25006', '53100']);

/** Whether a later try may get past `error`: the database away, or refusing for now (what is answered UNAVAILABLE); not a bug. */
export function passesLater(error: unknown): boolean {
  return toWireError(error).error.code === 'UNAVAILABLE';
}

/** The PostgreSQL error behind a MikroORM `DriverException`, or the error itself. */
function driverCause(error: unknown): unknown {
  return error instanceof DriverException ? ((error as { cause?: unknown }).cause ?? error) : error;
}

/** The SQLSTATE of a database error, wherever MikroORM wrapped it; undefined for any other error. */
export function sqlState(error: unknown): string | undefined {
  let cause = error as { code?: unknown; cause?: unknown } | null | undefined;
  for (let depth = 0; cause && depth < 8; depth++, cause = cause.cause as typeof cause) {
    if (typeof cause.code === 'string' && /^[0-9A-Z]{5}$/.test(cause.code)) return cause.code;
  }
  return undefined; // none within a few causes (a chain may even loop)
}

function isTryAgain(error: unknown): boolean {
  const code = sqlState(error);
  return code !== undefined && TRY_AGAIN_CODES.has(code);
}

const FOREIGN_KEY_VIOLATION = '23503';

/**
 * A change that names a row another request deleted meanwhile (an org deleted while its members
 * write, a column while a task moves into it): the filtered read saw it, the write's foreign key
 * did not. Answered as if the read had not found it; a delete that something still refers to is
 * a conflict instead. MikroORM's `findOneOrFail` after such a deletion says the same.
 */
function goneMeanwhile(error: unknown): WireError | null {
  if (error instanceof NotFoundError) return { code: 'NOT_FOUND', message: 'not found' };
  if (sqlState(error) !== FOREIGN_KEY_VIOLATION) return null;
  const detail = (driverCause(error) as { detail?: unknown }).detail;
  return typeof detail === 'string' && detail.includes('is still referenced')
    ? { code: 'CONFLICT', message: 'it is still in use' }
    : { code: 'NOT_FOUND', message: 'something this change refers to no longer exists' };
}

/**
 * How much of a payload's schema failures is named back: the first issues, each cut short. A
 * payload of 80,000 unknown keys (under 1 MiB) would otherwise be echoed whole in the answer.
 */
const MOST_ISSUES = 20;
const MOST_ISSUE_TEXT = 300;

/**
 * The one translation from anything thrown to the wire: domain errors keep their code and
 * message, schema failures become VALIDATION_FAILED, a row deleted meanwhile NOT_FOUND, a lost
 * database or one that refuses the change for now UNAVAILABLE, and everything else INTERNAL with no detail from inside (`unexpected` is true so it gets logged).
 */
export function toWireError(error: unknown): { error: WireError; unexpected: boolean } {
  if (error instanceof DomainError) {
    const details = error.details === undefined ? {} : { details: error.details };
    return { error: { code: error.code, message: error.message, ...details }, unexpected: false };
  }
  if (error instanceof ZodError) {
    const details = error.issues
      .slice(0, MOST_ISSUES)
      .map((issue) => ({ path: issue.path.join('.').slice(0, MOST_ISSUE_TEXT), message: issue.message.slice(0, MOST_ISSUE_TEXT) }));
    return {
      error: { code: 'VALIDATION_FAILED', message: schemaRefusalMessage(details, error.issues.length), details },
      unexpected: false,
    };
  }
  if (error instanceof UniqueConstraintViolationException) {
    return { error: { code: 'CONFLICT', message: 'that already exists' }, unexpected: false };
  }
  const gone = goneMeanwhile(error);
  if (gone) return { error: gone, unexpected: false };
  if (isUnavailable(error) || isUnavailable(driverCause(error))) {
    return { error: { code: 'UNAVAILABLE', message: 'the database is unavailable; try again' }, unexpected: true };
  }
  if (isTryAgain(error))
    return { error: { code: 'UNAVAILABLE', message: 'the database refused the change for now; try again' }, unexpected: true };
  return { error: { code: 'INTERNAL', message: 'internal error' }, unexpected: true };
}

/**
 * A schema's refusal in one line that names what to mend first, for a client that logs only the
 * message ("the payload does not match the schema: projectId: Invalid UUID (and 1 more)"); `details` lists them.
 */
function schemaRefusalMessage(issues: { path: string; message: string }[], count: number): string {
  const first = issues[0];
  if (!first) return 'the payload does not match the schema';
  const more = count > 1 ? ` (and ${count - 1} more)` : '';
  return `the payload does not match the schema: ${first.path ? `${first.path}: ` : ''}${first.message}${more}`;
}

/** The answer to a socket event or HTTP request still waiting at `ANSWER_DEADLINE`. */
export const NO_ANSWER_IN_TIME: WireError = { code: 'UNAVAILABLE', message: 'no answer from the database in time; try again' };

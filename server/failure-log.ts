import type { FastifyBaseLogger } from 'fastify';
import type { WireError } from '../shared/errors.js';
import { toWireError } from './errors.js';
import { withoutValues } from './logged-error.js';

/** The longest a node keeps quiet about the database failing requests, while it does. */
const OUTAGE_REPORT_MS = 10_000;

/**
 * Answers what a request or socket event threw, in wire form (`toWireError`), and logs it: a bug
 * (INTERNAL) every time, with its stack; the database out of reach, or refusing for now
 * (UNAVAILABLE), as one warning at most every `OUTAGE_REPORT_MS`, counting the failures since the
 * last: an outage fails every request, and a line with a stack for each would bury the rest.
 */
export class FailureLog {
  private lastReport = -Infinity;
  private unreported = 0;

  constructor(private readonly log: FastifyBaseLogger) {}

  /** The wire error for `thrown`; `where` (the event, say) goes into a log line, on `log` for a bug. */
  answer(thrown: unknown, where: Record<string, unknown>, message: string, log: FastifyBaseLogger = this.log): WireError {
    const { error, unexpected } = toWireError(thrown);
    if (!unexpected) return error;
    if (error.code !== 'UNAVAILABLE') {
      log.error({ err: thrown, ...where }, message);
      return error;
    }
    const { code, message: cause } = (thrown ?? {}) as { code?: unknown; message?: unknown };
    this.reportUnavailable(where, `${message}: answered UNAVAILABLE (${error.message})`, {
      code,
      message: typeof cause === 'string' ? withoutValues(cause) : cause,
    });
    return error;
  }

  /**
   * Logs a request or socket event answered UNAVAILABLE at its deadline (`ANSWER_DEADLINE`), its
   * work still waiting on the database: as a failure of the database is, one line at most every
   * `OUTAGE_REPORT_MS` for them all.
   */
  answeredAtDeadline(where: Record<string, unknown>): void {
    this.reportUnavailable(where, 'no answer in time: answered UNAVAILABLE at the answer deadline (its work still waits on the database)');
  }

  private reportUnavailable(where: Record<string, unknown>, message: string, cause?: Record<string, unknown>): void {
    this.unreported += 1;
    const now = Date.now();
    if (now - this.lastReport < OUTAGE_REPORT_MS) return;
    this.log.warn(
      { ...where, ...(cause ? { cause } : {}), failedSinceLastReport: this.unreported },
      `${message}; at most one such line every ${OUTAGE_REPORT_MS / 1000} s`,
    );
    this.lastReport = now;
    this.unreported = 0;
  }
}

import type { ErrorCode, WireError } from '../shared/errors.js';

/** A refusal from the server, or a mutation that could not be delivered. */
export class TaskFlowError extends Error {
  readonly code: ErrorCode | 'DISCONNECTED';
  readonly details?: unknown;

  constructor(error: WireError | { code: 'DISCONNECTED'; message: string; details?: unknown }) {
    super(error.message);
    this.name = 'TaskFlowError';
    this.code = error.code;
    this.details = error.details;
  }
}

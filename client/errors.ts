import type { ErrorCode, WireError } from '../shared/errors.js';
import type { TaskField, TaskJson } from '../shared/wire.js';

/** A CONFLICT's details over a task someone else changed since the `baseVersion` sent: the task as it stands, and for an edit the fields that clashed. */
export interface TaskConflict {
  task: TaskJson;
  fields?: TaskField[];
}

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

  /** For a CONFLICT over a task changed since `baseVersion`: the task as it stands, and the clashing fields; undefined for any other refusal. */
  get conflict(): TaskConflict | undefined {
    const details = this.details as Partial<TaskConflict> | undefined;
    return this.code === 'CONFLICT' && details?.task ? (details as TaskConflict) : undefined;
  }

  /** For RATE_LIMITED: how long to wait before sending again, as the server says; undefined otherwise. */
  get retryAfterMs(): number | undefined {
    return this.code === 'RATE_LIMITED' ? (namedDelayMs(this) ?? undefined) : undefined;
  }
}

/** The delay a refusal names (`details.retryAfterMs`), or null. */
export function namedDelayMs(error: { details?: unknown }): number | null {
  const named = (error.details as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof named === 'number' && named >= 0 ? named : null;
}

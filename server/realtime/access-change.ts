import type { AppContext } from '../context.js';
import { isUnavailable } from '../errors.js';

/**
 * How long after a change of access failed its sockets are re-checked once more: PostgreSQL may
 * apply a commit whose answer was lost a moment after the node heard its connection break, and a
 * re-check that read the memberships before then found the member still in (seen in CI under
 * load). A margin of time, not a signal: the broken session's end is not watched.
 */
const RECHECK_AGAIN_MS = 2000;

/**
 * Runs `commit`, the transaction of a change of access whose caller announces it once it returns
 * (`Broadcaster.revoke`, `endSessions`). One that fails as the database goes away may have
 * committed with its answer lost, and then no one announces it: a member removed would go on
 * hearing the org's boards (an idle socket is re-checked by nothing else). So every node then
 * re-checks its sockets' access (`Broadcaster.accessUnsure`), at once and `RECHECK_AGAIN_MS` later.
 */
export async function commitAccessChange<T>(ctx: AppContext, commit: () => Promise<T>): Promise<T> {
  try {
    return await commit();
  } catch (error) {
    if (isUnavailable(error)) {
      ctx.broadcaster.accessUnsure();
      setTimeout(() => ctx.broadcaster.accessUnsure(), RECHECK_AGAIN_MS).unref();
    }
    throw error;
  }
}

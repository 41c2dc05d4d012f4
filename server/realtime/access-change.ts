import type { AppContext } from '../context.js';
import { isUnavailable } from '../errors.js';

/**
 * Runs `commit`, the transaction of a change of access whose caller announces it once it returns
 * (`Broadcaster.revoke`, `endSessions`). One that fails as the database goes away may have
 * committed with its answer lost, and then no one announces it: a member removed would go on
 * hearing the org's boards (an idle socket is re-checked by nothing else). So every node then
 * re-checks its sockets' access (`Broadcaster.accessUnsure`).
 */
export async function commitAccessChange<T>(ctx: AppContext, commit: () => Promise<T>): Promise<T> {
  try {
    return await commit();
  } catch (error) {
    if (isUnavailable(error)) ctx.broadcaster.accessUnsure();
    throw error;
  }
}

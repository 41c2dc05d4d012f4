import type { AppContext } from '../context.js';
import { type Sql, sql, withScriptConnection } from '../db/sql-script.js';
import { holds, openTenant, standingOf } from '../db/tenant.js';
import { authorize } from '../orgs/access.js';
import type { BoardChangeRequest, BoardChangeResult } from './board-change.js';
import { eventOf, eventWithMutationId, logStatements } from './event-log.js';

/** A board change that one statement makes, for `quickBoardChange`. */
export interface QuickChange {
  /**
   * The statement that makes the change on the board, returning what `applied` reads. It must
   * write nothing unless `seqTaken` holds: the board's next `seq` was taken for it, which happens
   * only for a caller with the capability, on an active board.
   */
  statement(projectId: string, seqTaken: Sql): Sql;
  /** The change's event data from the statement's rows; null when it did not make the change. */
  applied(rows: Array<Record<string, unknown>>): { data: unknown } | null;
}

// Set by the statement that takes the seq, for the change's statement to see (transaction-local).
const SEQ_TAKEN = sql`coalesce(current_setting('app.board_seq', true), '') <> ''`;

/**
 * `commitBoardChange` in two round trips instead of six, for the common change that one
 * statement makes (DESIGN §9). The first message opens the tenant transaction and reads the
 * caller's standing, takes the board's next `seq` (only if the standing allows the change and the
 * board is active), runs the change's statement and looks for an earlier event of the same
 * `clientMutationId`; the second logs the event and commits. Anything out of the ordinary (no such task, an archived
 * board, a retry, a stale `baseVersion`, nothing to change) rolls back and answers 'declined',
 * and the general path decides, with its own errors, in a transaction of its own. A refusal is
 * the general path's too: `authorize` on the standing read here. Null on the embedded database,
 * where it cannot be tried.
 */
export async function quickBoardChange(
  ctx: AppContext,
  request: BoardChangeRequest,
  change: QuickChange,
): Promise<BoardChangeResult | 'declined' | null> {
  const { principal, target, clientMutationId } = request;
  const projectId = target.projectId;
  if (!projectId || request.allowArchived) return 'declined';
  const capability = request.capability ?? 'tasks:write';
  const event = await withScriptConnection(ctx.orm, async (db) => {
    const [, [opened], [taken], rows, retried = []] = await db.run(
      sql`begin`,
      openTenant(target.orgId, principal),
      sql`update projects set seq = seq + 1
           where id = ${projectId} and status = 'active' and ${holds(principal, target.orgId, capability)}
       returning seq, set_config('app.board_seq', seq::text, true)`,
      change.statement(projectId, SEQ_TAKEN),
      ...(clientMutationId ? [eventWithMutationId(projectId, clientMutationId)] : []),
    );
    authorize(standingOf(opened, principal), principal, target.orgId, capability, target.outsider);
    const applied = taken && retried.length === 0 ? change.applied(rows!) : null;
    if (!applied) {
      await db.run(sql`rollback`);
      return 'declined' as const;
    }
    const event = eventOf(request, projectId, Number(taken.seq), applied.data);
    await db.run(...logStatements(target.orgId, event, ctx.config.eventRetention), sql`commit`);
    return event;
  });
  if (event === null || event === 'declined') return event;
  ctx.broadcaster.boardEvent(target.orgId, event, request.originSocketId);
  return { event };
}

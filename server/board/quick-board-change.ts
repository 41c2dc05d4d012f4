import type { AppContext } from '../context.js';
import { type Sql, sql } from '../db/sql-script.js';
import { enterTenant, holds } from '../db/tenant.js';
import type { BoardChangeRequest, BoardChangeResult } from './board-change.js';
import { BOARD_SEQ, eventInsert, eventOf, eventWithMutationId, pruneEvents, seqLogged, takeSeqWhere } from './event-log.js';

/** A board change that one statement makes, for `quickBoardChange`. */
export interface QuickChange {
  /**
   * The statement that makes the change on the board, returning one row whose `data` column is
   * the change's event data as JSON; no row, and no write, when it did not make the change. It
   * must write nothing unless `mayWrite` holds.
   */
  statement(projectId: string, mayWrite: Sql): Sql;
}

/** The event data a `QuickChange`'s statement returned, or null when it made no change. */
export function quickChangeData(rows: Array<Record<string, unknown>>): { data: unknown } | null {
  return rows[0] ? { data: rows[0].data } : null;
}

/**
 * `commitBoardChange` in one round trip instead of six, for the common change that one statement
 * makes (DESIGN §9). Its statements take the board's next `seq`, only if the caller's standing in
 * the org allows the change and the board is active; make the change and log its event, only if
 * the seq was taken and no event of the board has the same `clientMutationId`; prune the log
 * when due; and give the seq back if no event took it. They go in one message after the one that
 * enters the tenant, with those of other changes of the board that came meanwhile (`BoardQueue`):
 * PostgreSQL runs a message as one transaction, and rolls it back whole on an error, so the
 * board's lock is held inside PostgreSQL only, never across a round trip. Anything out of the
 * ordinary (no such task, an archived board, a refusal, a retry, a stale `baseVersion`, nothing
 * to change) writes nothing and answers 'declined': the general path then decides, with its own
 * errors, in a transaction of its own. Null on the embedded database, where it cannot be tried.
 */
export async function quickBoardChange(
  ctx: AppContext,
  request: BoardChangeRequest,
  change: QuickChange,
): Promise<BoardChangeResult | 'declined' | null> {
  const { principal, target, clientMutationId } = request;
  const projectId = target.projectId;
  if (!projectId || request.allowArchived) return 'declined';
  const seqTaken = sql`${BOARD_SEQ} is not null`;
  const mayWrite = clientMutationId ? sql`${seqTaken} and not exists (${eventWithMutationId(projectId, clientMutationId)})` : seqTaken;
  const pending = eventOf(request, projectId, 0, null); // its seq and data come from the database
  const rows = await ctx.boardQueue.run(`${target.orgId}/${projectId}`, enterTenant(target.orgId), [
    takeSeqWhere(projectId, holds(principal, target.orgId, request.capability ?? 'tasks:write')),
    sql`with change as (${change.statement(projectId, mayWrite)}),
          logged as (${eventInsert(target.orgId, pending, { seq: BOARD_SEQ, data: sql`change.data::jsonb`, from: sql`change` })} returning seq)
        select change.data, logged.seq from change, logged`,
    pruneEvents(projectId, ctx.config.eventRetention),
    sql`update projects set seq = seq - 1 where id = ${projectId} and ${seqTaken} and not ${seqLogged(projectId)}`,
  ]);
  if (!rows) return null;
  const logged = rows[1]![0];
  if (!logged) return 'declined';
  const event = { ...pending, seq: Number(logged.seq), data: logged.data };
  ctx.broadcaster.boardEvent(target.orgId, event, request.originSocketId);
  return { event };
}

import type { AppContext } from '../context.js';
import { isUnavailable } from '../errors.js';
import { timeOrderedId } from '../db/time-ordered-id.js';
import { type Sql, sql } from '../db/sql-script.js';
import { enterBoardTenant, holds } from '../db/tenant.js';
import type { BoardChangeRequest, BoardChangeResult } from './board-change.js';
import { BOARD_SEQ, eventInsert, eventOf, keepSeq, lockBoardSeq, mutationSeen, storeBoardSeq } from './event-log.js';

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
 * makes (DESIGN §9). The change goes in one message with the other changes of its board that came
 * meanwhile (`BoardQueue`), which PostgreSQL runs as one transaction and rolls back whole on an
 * error: it enters the tenant and locks the board's row (`lockBoardSeq`, active boards only);
 * each change then makes its change and logs its event at the next `seq`, only if the caller's
 * standing in the org allows it and no event of the board has the same `clientMutationId`; the
 * last `seq` is written back once, and the log pruned when due. So the board's lock is held
 * inside PostgreSQL only, never across a round trip, and `seq` has no gap. Anything out of the
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
  const allowed = sql`${BOARD_SEQ} is not null and ${holds(principal, target.orgId, request.capability ?? 'tasks:write')}`;
  const mayWrite = clientMutationId ? sql`${allowed} and not exists (${mutationSeen(projectId, clientMutationId)})` : allowed;
  const pending = eventOf(request, projectId, 0, null); // its seq and data come from the database
  const eventId = timeOrderedId(); // its row, should the answer be lost (`unsureOf`)
  const board = {
    before: [enterBoardTenant(target.orgId), lockBoardSeq(projectId)],
    after: [storeBoardSeq(projectId, ctx.config.eventRetention)],
  };
  // Told to the board's order as its message is sent, before it can take a seq, until answered.
  let answered: (() => void) | undefined;
  const sending = () => (answered = ctx.eventOrder.quickSent(target.orgId, projectId));
  try {
    const rows = await ctx.boardQueue
      .run(
        `${target.orgId}/${projectId}`,
        board,
        [
          sql`with change as (${change.statement(projectId, mayWrite)}),
            logged as (${eventInsert(target.orgId, pending, { seq: sql`${BOARD_SEQ} + 1`, data: sql`change.data::jsonb`, from: sql`change` }, eventId)} returning seq)
          select change.data, logged.seq, ${keepSeq(sql`logged.seq`)} from change, logged`,
        ],
        sending,
      )
      .catch((error: unknown) => {
        // The message, once sent, may have committed with its answer lost: its event is looked for and sent out.
        if (answered && isUnavailable(error)) ctx.eventOrder.unsureOf(target.orgId, projectId, clientMutationId, eventId);
        throw error;
      });
    if (!rows) return null;
    const logged = rows[0]![0];
    if (!logged) return 'declined';
    const event = { ...pending, seq: Number(logged.seq), data: logged.data };
    ctx.eventOrder.send({ orgId: target.orgId, event, exceptSocketId: request.sender.socketId });
    return { event };
  } finally {
    answered?.();
  }
}

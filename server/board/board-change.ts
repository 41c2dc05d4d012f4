import type { EntityManager } from '@mikro-orm/postgresql';
import type { Capability } from '../../shared/roles.js';
import type { BoardEventJson, BoardEventType } from '../../shared/wire.js';
import type { Caller } from '../auth/caller.js';
import { actorOf, type Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import type { Orm } from '../db/orm.js';
import { sql } from '../db/sql-script.js';
import { inTenant, standingNow } from '../db/tenant.js';
import { DomainError, isUnavailable, notFound } from '../errors.js';
import { timeOrderedId } from '../db/time-ordered-id.js';
import { authorize } from '../orgs/access.js';
import type { Logged, LostChange } from './board-event-order.js';
import { BoardEvent } from './board-event.entity.js';
import { toBoardEventJson } from './board-event.json.js';
import { eventOf, keepSeq, logStatements } from './event-log.js';
import { loggedEvent, noopRecord, retryAnswer } from './retried-change.js';
import { type QuickChange, quickBoardChange, quickChangeData } from './quick-board-change.js';
import type { Addressable } from './board-target.js';

/** Where a change lands, as found by the server (never as claimed by the client). */
export interface BoardTarget {
  orgId: string;
  /** Null when the thing addressed is not on a board of this org: NOT_FOUND once authorised. */
  projectId: string | null;
  /** The refusal for a non-member of the org. */
  outsider: () => DomainError;
  /** What the id names (`task`, `project`, `column`), for the NOT_FOUND message. */
  what: string;
}

/**
 * A change `caller` asks for on the board of the addressed project, column or task: finds where
 * it lands, then commits it (see `commitBoardChange`); a retry of it while it still runs on this
 * node waits for its result (`RunningChanges`). `apply` gets the org's id as well. A change
 * that one statement can make may also come as `quick`, tried first (see `quickBoardChange`).
 * A socket's changes take their places on their boards in the order it sent them (`SenderOrder`).
 */
export async function changeBoard(
  ctx: AppContext,
  caller: Caller,
  address: { what: Addressable; id: string },
  type: BoardEventType,
  clientMutationId: string | undefined,
  apply: (em: EntityManager, projectId: string, orgId: string) => Promise<Applied>,
  quick?: (orgId: string) => QuickChange | null,
): Promise<BoardChangeResult> {
  const actor = actorOf(caller.principal);
  const sameChange = clientMutationId ? `${actor.kind}:${actor.id}:${type}:${address.id}:${clientMutationId}` : null;
  return ctx.runningChanges.once(sameChange, () =>
    ctx.senderOrder.inOrder(caller.socketId, async (place) => {
      const target = await ctx.locator.target(address.what, address.id, caller.scopeOrgId);
      const request = changeRequest(caller, target, type, clientMutationId, address.id);
      const board = `${target.orgId}/${target.projectId}`;
      const quickChange = quick?.(target.orgId) ?? null;
      const quickly = quickChange ? await place(board, 'quick', () => quickBoardChange(ctx, request, quickChange)) : 'declined';
      if (quickly && quickly !== 'declined') return quickly;
      // Where it could not be tried (the embedded database), its statement still spares the ORM's read.
      const first = quickly === null ? quickChange : null;
      const commit = () =>
        commitBoardChange(
          ctx,
          request,
          async (em, projectId) =>
            (first && quickChangeData(await em.execute(...first.statement(projectId, sql`true`).bound()))) ??
            apply(em, projectId, target.orgId),
        );
      return quickChange ? commit() : place(board, 'general', commit); // one that was tried quickly has its place
    }),
  );
}

/** The request for a change `caller` asks for, landing at `target`, addressed to `subject` (`BoardChangeRequest`). */
export function changeRequest(
  caller: Caller,
  target: BoardTarget,
  type: BoardEventType,
  clientMutationId?: string,
  subject?: string,
): BoardChangeRequest {
  return { principal: caller.principal, target, type, clientMutationId, subject, sender: caller };
}

export interface BoardChangeRequest {
  principal: Principal;
  target: BoardTarget;
  /** The event type this change produces; a retry whose id names another type is refused. */
  type: BoardEventType;
  /** What the change needs; tasks and columns need `tasks:write` (the default). */
  capability?: Capability;
  /** Whether the change may touch an archived board (only a project update, to unarchive it, may). */
  allowArchived?: boolean;
  clientMutationId?: string;
  /**
   * The id the change is addressed to: its task's or column's (the board's for a create, and by
   * default); a retry whose id names a change of another is refused.
   */
  subject?: string;
  /**
   * Who sent the change: its socket, while it waits for the answer, learns of the change from
   * that instead of a broadcast (`Caller.socketId`, read as the change is sent out).
   */
  sender: Pick<Caller, 'socketId'>;
}

/** What a change function returns: the event data, or the value to answer when nothing changed. */
export type Applied = { data: unknown } | { unchanged: unknown };

export type BoardChangeResult = { event: BoardEventJson; unchanged?: undefined } | { event: null; unchanged: unknown };

class Abandon {
  constructor(
    readonly result: BoardChangeResult,
    /** A retry's answer: the row id of the event it found in the log. */
    readonly loggedId?: string,
  ) {}
}

/** Where a change with a `clientMutationId` goes back to when it turns out to change nothing (`noopRecord`). */
const BEFORE_APPLY = 'board_change_applies';

/**
 * The one path by which a board changes (DESIGN §9): in one tenant transaction, check the role,
 * take the board's next `seq` (which also queues concurrent writers of the board), answer a
 * retried `clientMutationId` with its original event, apply the change, append the event; then,
 * after commit, broadcast it, in `seq` order with the board's other events this node commits. A
 * change that alters nothing logs no event and keeps no `seq`, so `seq` keeps no gap: it rolls
 * back, or, with a `clientMutationId`, goes back to before it applied and commits the record of
 * that id instead, under the same lock (`noopRecord`). A board's changes take this path
 * one at a time on this node (`ctx.boardTurns`), so that they wait for each other without holding
 * database connections.
 */
export async function commitBoardChange(
  ctx: AppContext,
  request: BoardChangeRequest,
  apply: (em: EntityManager, projectId: string) => Promise<Applied>,
): Promise<BoardChangeResult> {
  const { orgId, projectId } = request.target;
  if (!projectId) return commitInTurn(ctx, request, apply);
  return ctx.boardTurns.run(`${orgId}/${projectId}`, () => commitInTurn(ctx, request, apply));
}

/** `commitBoardChange`, once the board's turn has come. */
async function commitInTurn(
  ctx: AppContext,
  request: BoardChangeRequest,
  apply: (em: EntityManager, projectId: string) => Promise<Applied>,
): Promise<BoardChangeResult> {
  const { principal, target, clientMutationId } = request;
  let taken: number | null = null; // the board's seq this change took, until it settles
  let result: BoardChangeResult | null = null;
  const eventId = timeOrderedId(); // the row of its event, should the answer be lost (`unsureOf`)
  // Broadcast once committed, in the board's seq order on this node (`BoardEventOrder`); once.
  const settle = () => {
    if (taken === null) return;
    const event = result?.event;
    ctx.eventOrder.settled(
      target.orgId,
      target.projectId!,
      taken,
      event ? { orgId: target.orgId, event, exceptSocketId: request.sender.socketId } : null,
    );
    taken = null;
  };
  try {
    result = await inTenant(
      ctx.orm,
      target.orgId,
      async (em, standing) => {
        const capability = request.capability ?? 'tasks:write';
        authorize(standing, principal, target.orgId, capability, target.outsider);
        if (!target.projectId) throw notFound(target.what);
        const projectId = target.projectId;
        const { seq, archived } = await takeNextSeq(em, projectId);
        ctx.eventOrder.taken(target.orgId, projectId, (taken = seq));
        // Read again once the board's turn has come, as the quick path reads it after the board's
        // lock: an author removed or demoted while this waited for a busy board is refused.
        authorize(await standingNow(em, target.orgId, principal), principal, target.orgId, capability, target.outsider);
        const retry = await retryAnswer(em, request, projectId);
        if (retry) throw new Abandon(retry.result, retry.loggedId);
        // After the retry's lookup: a change that committed before the board was archived still
        // answers its retry with the original result.
        if (archived && !request.allowArchived) throw new DomainError('FORBIDDEN', 'the project is archived');
        if (clientMutationId) await em.execute(`savepoint ${BEFORE_APPLY}`);
        const applied = await apply(em, projectId);
        if ('unchanged' in applied) {
          const answer = { event: null, unchanged: applied.unchanged };
          if (!clientMutationId) throw new Abandon(answer);
          // Its record is kept before the board's lock is let go, so that its retries find it.
          await em.execute(`rollback to savepoint ${BEFORE_APPLY}`);
          em.clear(); // nothing `apply` did is flushed at commit
          await em.execute(...noopRecord(request, projectId, applied.unchanged).bound());
          return answer;
        }
        await em.flush(); // what `apply` changed through the ORM
        const event = eventOf(request, projectId, seq, applied.data);
        for (const statement of logStatements(target.orgId, event, ctx.config.eventRetention, eventId))
          await em.execute(...statement.bound());
        return { event };
      },
      principal,
    );
    return result;
  } catch (error) {
    if (!(error instanceof Abandon)) {
      // Once it has taken a seq, it may have committed with its answer lost (before, nothing it sent was written).
      if (taken !== null && isUnavailable(error)) ctx.eventOrder.unsureOf(target.orgId, target.projectId!, clientMutationId, eventId);
      throw error;
    }
    const earlier = error.result.event; // a retry's answer, from the log
    if (earlier) ctx.eventOrder.retried({ orgId: target.orgId, event: earlier, exceptSocketId: request.sender.socketId }, error.loggedId!);
    return error.result;
  } finally {
    settle();
  }
}

/**
 * `seq = seq + 1` on the board's row: the number of the event, and a lock until commit; kept for
 * `logStatements` (`BOARD_SEQ`). Whether the board is archived comes with it: the caller decides.
 */
export async function takeNextSeq(em: EntityManager, projectId: string): Promise<{ seq: number; archived: boolean }> {
  const rows = await em.execute<Array<{ seq: number; status: string }>>(
    ...sql`update projects set seq = seq + 1 where id = ${projectId} returning seq, status, ${keepSeq(sql`seq`)}`.bound(),
  );
  const row = rows[0];
  if (!row) throw notFound('project');
  return { seq: row.seq, archived: row.status !== 'active' };
}

/** The event a change logged on the board, and its row id, if it committed (`BoardEventOrder`'s lost answers). */
export async function findLogged(orm: Orm, orgId: string, projectId: string, change: LostChange): Promise<Logged | null> {
  return inTenant(orm, orgId, async (em) => {
    const logged =
      'clientMutationId' in change
        ? await loggedEvent(em, projectId, change.clientMutationId)
        : await em.findOne(BoardEvent, { id: change.eventId, project: projectId });
    return logged ? { id: logged.id, event: toBoardEventJson(logged) } : null;
  });
}

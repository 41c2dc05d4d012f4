import type { BoardEventJson } from '../../shared/wire.js';
import { actorOf } from '../auth/principal.js';
import { type Sql, sql } from '../db/sql-script.js';
import { timeOrderedId } from '../db/time-ordered-id.js';
import type { BoardChangeRequest } from './board-change.js';

/**
 * The board's `seq` as this transaction last took it (`keepSeq`) or read it (`lockBoardSeq`), for
 * the statements after; null before. It lives as long as the transaction.
 */
export const BOARD_SEQ = sql`nullif(current_setting('app.board_seq', true), '')::int`;

/** The board's `seq` as `lockBoardSeq` read it, before this transaction logged anything; null before. */
const LOCKED_SEQ = sql`nullif(current_setting('app.board_seq_locked', true), '')::int`;

/**
 * Locks the board's row until commit (as `seq = seq + 1` would) and reads its `seq` into
 * `BOARD_SEQ`, if the board is active; otherwise `BOARD_SEQ` stays null. For a transaction that
 * logs several events of the board: each takes `BOARD_SEQ + 1` and keeps it (`keepSeq`), and
 * `storeBoardSeq` writes the last back once. (Updating the row once per event would make
 * PostgreSQL check its foreign keys again from the second update on, as it does for a row the
 * same transaction wrote, locking the org's and the creator's rows each time.)
 */
export function lockBoardSeq(projectId: string): Sql {
  // The lock is taken in a subquery, so that the select list is computed only for a row that was
  // locked and still matched: a board archived while this waited leaves `BOARD_SEQ` null.
  return sql`select ${keepSeq(sql`seq`)}, set_config('app.board_seq_locked', seq::text, true)
    from (select seq from projects where id = ${projectId} and status = 'active' for no key update) locked`;
}

/** Makes `seq` this transaction's `BOARD_SEQ`, in the select list or `returning` that took it. */
export function keepSeq(seq: Sql): Sql {
  return sql`set_config('app.board_seq', ${seq}::text, true)`;
}

/**
 * Writes `BOARD_SEQ` back to the board's row, if events were logged after `lockBoardSeq`, and
 * prunes the log as a pruning after each of those events would have (`pruneEvents`): one
 * statement for the transaction, not one for each event.
 */
export function storeBoardSeq(projectId: string, retention: number): Sql {
  const logged = { first: sql`${LOCKED_SEQ} + 1`, last: BOARD_SEQ };
  return sql`with pruned as (${pruneEvents(projectId, retention, logged)})
    update projects set seq = ${BOARD_SEQ} where id = ${projectId} and seq <> ${BOARD_SEQ}`;
}

/**
 * A row of `1` if the board has seen this `clientMutationId`: its event, or the record of a
 * change that changed nothing (`NoopMutation`).
 */
export function mutationSeen(projectId: string, clientMutationId: string): Sql {
  return sql`select 1 from board_events where project_id = ${projectId} and client_mutation_id = ${clientMutationId}
    union all select 1 from board_noop_mutations where project_id = ${projectId} and client_mutation_id = ${clientMutationId}`;
}

/** The event a change makes: the board's `seq`, and `data` as the change gave it. */
export function eventOf(request: BoardChangeRequest, projectId: string, seq: number, data: unknown): BoardEventJson {
  return {
    projectId,
    seq,
    type: request.type,
    actor: actorOf(request.principal),
    data,
    clientMutationId: request.clientMutationId ?? null,
    at: new Date().toISOString(),
  };
}

/** The statements that log an event (as row `id`): its insert, and the pruning when it is due (see `pruneEvents`). */
export function logStatements(orgId: string, event: BoardEventJson, retention: number, id?: string): Sql[] {
  const append = eventInsert(orgId, event, undefined, id);
  return event.seq % pruningInterval(retention) === 0 ? [append, pruneEvents(event.projectId, retention)] : [append];
}

/**
 * The insert that logs `event` as row `id`, its payload serialised once. A statement that makes
 * the event's data and takes its seq itself gives them as SQL instead, over its rows (`made`);
 * one that logs an event for each of several rows, on several boards, gives their ids and boards too.
 */
export function eventInsert(
  orgId: string,
  event: BoardEventJson,
  made?: { seq: Sql; data: Sql; from: Sql; id?: Sql; projectId?: Sql },
  id?: string,
): Sql {
  return sql`insert into board_events (id, created_at, org_id, project_id, seq, type, actor, payload, client_mutation_id)
     select ${made?.id ?? sql`${id ?? timeOrderedId()}::uuid`}, ${event.at}::timestamptz, ${orgId}::uuid, ${made?.projectId ?? sql`${event.projectId}::uuid`},
       ${made?.seq ?? sql`${event.seq}::int`}, ${event.type}::varchar, ${JSON.stringify(event.actor)}::jsonb,
       ${made?.data ?? sql`${JSON.stringify(event.data)}::jsonb`}, ${event.clientMutationId}::varchar
     ${made ? sql`from ${made.from}` : sql``}`;
}

/**
 * On every (retention/2)th event of a board (every 100th at most), the pruning that keeps its
 * latest `retention` events, so that the log holds between `retention` and 1.5 × `retention` of
 * them; on the others it deletes nothing. It reads the board's latest seq in this transaction
 * (`BOARD_SEQ`), whose event is always logged: a seq is only ever taken or kept with its event.
 * A statement that logged several events of the board at once names their seqs (`logged`,
 * from first to last), and the pruning does what one after each of them would have done.
 *
 * It deletes only the events that fell out of the log since the last pruning, one interval's
 * worth, which the pruning before it left: not every event below the bound. The rows that earlier
 * prunings deleted stay in the index until a vacuum, and a range reaching down to the board's
 * first seq would visit them all, every time: 40,000 dead events made a pruning take 26 ms, with
 * the board's row locked and its writers waiting. (Changing the retention, or nodes that run
 * with different ones for a while, as in a rolling change of it, can leave some older events in
 * the log for good, where a replay, which needs every event since its `sinceSeq`, never uses them.)
 */
export function pruneEvents(
  projectId: string,
  retention: number,
  logged: { first: Sql; last: Sql } = { first: BOARD_SEQ, last: BOARD_SEQ },
): Sql {
  const interval = pruningInterval(retention);
  // The multiples of the interval among the seqs logged: none, or those from one past `since` to `upto`.
  const since = sql`(${logged.first} - 1) / ${interval} * ${interval}`;
  const upto = sql`${logged.last} / ${interval} * ${interval}`;
  return sql`delete from board_events where project_id = ${projectId} and ${upto} > ${since}
     and seq > ${since} - ${retention} and seq <= ${upto} - ${retention}`;
}

function pruningInterval(retention: number): number {
  return Math.min(100, Math.floor(retention / 2));
}

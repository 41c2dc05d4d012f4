import type { EntityManager } from '@mikro-orm/postgresql';
import type { FastifyBaseLogger } from 'fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Actor, BoardEventType } from '../../shared/wire.js';
import { actorOf, type Principal } from '../auth/principal.js';
import type { Orm } from '../db/orm.js';
import { runPlain, type Sql, sql } from '../db/sql-script.js';
import { conflict } from '../errors.js';
import type { BoardChangeRequest, BoardChangeResult } from './board-change.js';
import { BoardEvent } from './board-event.entity.js';
import { toBoardEventJson } from './board-event.json.js';
import { mutationSeen } from './event-log.js';
import { NoopMutation } from './noop-mutation.entity.js';

/** What a retry answers: its first try's result, and the row of the event it found in the log, if any. */
export interface RetryAnswer {
  result: BoardChangeResult;
  loggedId?: string;
}

/**
 * The answer to `request` if the board has seen its `clientMutationId` before (its event, or the
 * record of a change that changed nothing); null if not. A retry is its sender's own retry of the
 * same change: the same kind of change, by the same user or bot, to the same task, column or
 * board. Anything else under that id (two bots that count their changes from 1, an id reused on
 * another task) is CONFLICT, not answered with another change's result. Read with the board's row
 * locked, so that a first try still running elsewhere has committed its event or record by then.
 */
export async function retryAnswer(em: EntityManager, request: BoardChangeRequest, projectId: string): Promise<RetryAnswer | null> {
  const { clientMutationId } = request;
  if (!clientMutationId || !(await seen(em, projectId, clientMutationId))) return null;
  const earlier = await loggedEvent(em, projectId, clientMutationId);
  if (earlier) {
    if (earlier.type !== request.type || !sameActor(earlier.actor, request.principal))
      throw conflict('this clientMutationId was used for another change');
    if (addressOf(earlier.type, projectId, earlier.payload) !== subjectOf(request, projectId)) throw elsewhere(request);
    return { result: { event: toBoardEventJson(earlier) }, loggedId: earlier.id };
  }
  const noop = await em.findOne(NoopMutation, { project: projectId, clientMutationId });
  if (!noop) return null;
  if (noop.type !== request.type || (noop.actor && !sameActor(noop.actor, request.principal)))
    throw conflict('this clientMutationId was used for another change');
  // A no-op's answer is what it addressed, as it stood then: a task, a column or the board.
  if ((noop.answer as { id?: unknown } | null)?.id !== subjectOf(request, projectId)) throw elsewhere(request);
  return { result: { event: null, unchanged: noop.answer } };
}

/** The board's event for `clientMutationId`, if its change committed: a retry's answer. */
export function loggedEvent(em: EntityManager, projectId: string, clientMutationId: string) {
  return em.findOne(BoardEvent, { project: projectId, clientMutationId });
}

/** A record of a change that changed nothing past the day it is kept for, for its retries. */
const NOOP_EXPIRED = sql`created_at < now() - '1 day'::interval`;

/**
 * For a change with a `clientMutationId` that changed nothing, in its own transaction, with the
 * board's row still locked: gives back the `seq` it took (it logs no event, and `seq` keeps no
 * gap), records the id and its answer, and drops the board's expired records (`NOOP_EXPIRED`). A
 * retry, on any node, waits for the lock and then finds the record; written after the lock was let
 * go, a retry could run the change afresh in between and undo someone else's change.
 */
export function noopRecord(request: BoardChangeRequest, projectId: string, answer: unknown): Sql {
  return sql`with given_back as (update projects set seq = seq - 1 where id = ${projectId}),
      expired as (delete from board_noop_mutations where project_id = ${projectId} and ${NOOP_EXPIRED})
    insert into board_noop_mutations (id, created_at, org_id, project_id, client_mutation_id, type, answer, actor)
    values (gen_random_uuid(), now(), ${request.target.orgId}, ${projectId}, ${request.clientMutationId!}, ${request.type},
      ${JSON.stringify(answer)}::jsonb, ${JSON.stringify(actorOf(request.principal))}::jsonb)
    on conflict (project_id, client_mutation_id) do nothing`;
}

/** How many expired no-op records one statement of `expireNoopRecords` drops, and how often a node runs it. */
const EXPIRY_BATCH = 1000;
const EXPIRY_EVERY_MS = 60 * 60 * 1000;
/** How long a stop waits for the round under way. */
const EXPIRY_STOP_MS = 1000;

/**
 * Drops the expired no-op records (`NOOP_EXPIRED`) of every board, in batches, at a node's start
 * and every hour after: a board's own no-ops drop its expired ones (`noopRecord`), but a board
 * archived, or one that makes no more, would keep its last ones for good. Outside any tenant (the
 * connecting role), as upkeep of every tenant's rows. The rows are read first, and deleted only
 * when there are some, skipping any a change holds: a delete takes a lock on the table that
 * `lock table … in share mode` (and stronger) would hold up, even with nothing to delete. A
 * failure (the database away) waits for the next round.
 */
export function expireNoopRecords(orm: Orm, log: FastifyBaseLogger) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  // A full batch dropped: there may be more. Rows skipped (held by a change) wait for the next round.
  const expire = async () => {
    while ((await dropExpiredBatch(orm)) === EXPIRY_BATCH && timer);
  };
  const run = () => {
    running = expire().catch((error: unknown) => {
      if (timer) log.warn({ err: error }, 'expired no-op records could not be dropped; tried again in an hour');
    });
  };
  return {
    start(): void {
      timer = setInterval(run, EXPIRY_EVERY_MS).unref();
      run();
    },
    /** Stops the rounds; waits for the one under way `EXPIRY_STOP_MS` at most (what the stop then cancels is not logged). */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = null;
      await Promise.race([running, sleep(EXPIRY_STOP_MS, undefined, { ref: false })]);
    },
  };
}

/** Drops up to `EXPIRY_BATCH` expired no-op records, skipping any a change holds; answers how many it dropped. */
async function dropExpiredBatch(orm: Orm): Promise<number> {
  const expired = await runPlain<{ id: string }>(orm, sql`select id from board_noop_mutations where ${NOOP_EXPIRED} limit ${EXPIRY_BATCH}`);
  if (expired.length === 0) return 0;
  const dropped = await runPlain(
    orm,
    sql`delete from board_noop_mutations where id in (
          select id from board_noop_mutations where id = any(${expired.map((row) => row.id)}::text[]::uuid[]) and ${NOOP_EXPIRED}
          for update skip locked)
        returning id`,
  );
  return dropped.length;
}

/** Whether the board already has an event or a no-op record for this `clientMutationId` (a plain read: most have none). */
async function seen(em: EntityManager, projectId: string, clientMutationId: string): Promise<boolean> {
  return (await em.execute(...mutationSeen(projectId, clientMutationId).bound())).length > 0;
}

/** What the request is addressed to: a task's or column's id; the board's for a create or a board's own change. */
function subjectOf(request: BoardChangeRequest, projectId: string): string {
  return request.subject ?? projectId;
}

/** What a logged change was addressed to, read from its event's data (`subjectOf`). */
function addressOf(type: BoardEventType, projectId: string, data: unknown): unknown {
  const payload = data as { task?: { id?: unknown }; taskId?: unknown; column?: { id?: unknown } } | null;
  switch (type) {
    case 'task.updated':
    case 'task.moved':
      return payload?.task?.id;
    case 'task.deleted':
      return payload?.taskId;
    case 'column.updated':
    case 'column.moved':
    case 'column.deleted':
      return payload?.column?.id;
    default: // task.created, column.created, project.updated
      return projectId;
  }
}

function elsewhere(request: BoardChangeRequest) {
  return conflict(`this clientMutationId was used for a change of another ${request.target.what}`);
}

/** Whether an event's actor is this principal. */
function sameActor(actor: Actor, principal: Principal): boolean {
  const current = actorOf(principal);
  return actor.kind === current.kind && actor.id === current.id;
}

import { randomUUID } from 'node:crypto';
import type { BoardEventJson } from '../../shared/wire.js';
import { actorOf } from '../auth/principal.js';
import { type Sql, sql } from '../db/sql-script.js';
import type { BoardChangeRequest } from './board-change.js';

/** The board's event for a `clientMutationId`, if it has one: a row of `1`. */
export function eventWithMutationId(projectId: string, clientMutationId: string): Sql {
  return sql`select 1 from board_events where project_id = ${projectId} and client_mutation_id = ${clientMutationId}`;
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

/**
 * The statements that log an event: one plain insert, the payload serialised once; and, on
 * every (retention/2)th event (every 100th at most), the pruning that keeps the board's latest
 * `retention` events, so the log holds between `retention` and 1.5 × `retention` of them.
 */
export function logStatements(orgId: string, event: BoardEventJson, retention: number): Sql[] {
  const append = sql`insert into board_events (id, created_at, org_id, project_id, seq, type, actor, payload, client_mutation_id)
     values (${randomUUID()}, ${event.at}, ${orgId}, ${event.projectId}, ${event.seq}, ${event.type},
       ${JSON.stringify(event.actor)}::jsonb, ${JSON.stringify(event.data)}::jsonb, ${event.clientMutationId})`;
  const every = Math.min(100, Math.floor(retention / 2));
  if (event.seq % every !== 0 || event.seq <= retention) return [append];
  return [append, sql`delete from board_events where project_id = ${event.projectId} and seq <= ${event.seq - retention}`];
}

import type { BoardJoinData } from '../../shared/events.js';
import type { BoardEventJson, BoardSnapshot, ColumnJson, ProjectJson } from '../../shared/wire.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { isoTime, type Sql, sql } from '../db/sql-script.js';
import { holds, inTenant, readAsTenant, standingIn, type TenantRead } from '../db/tenant.js';
import { DomainError, notFound } from '../errors.js';
import { authorize } from '../orgs/access.js';
import type { StillWanted } from '../lanes.js';
import { rawJson, type Wire } from '../raw-json.js';
import { boardLabels, boardTaskRows, boardTasksJson } from '../tasks/task-row.js';

/** A replay longer than this answers the snapshot instead, which is then cheaper to send. */
export const MAX_REPLAY = 1000;

/**
 * A replay whose events' data is larger than this answers the snapshot instead. A replay is one
 * value of one row, and events can be large (a `column.deleted` carries every task it moved):
 * one over 512 MB could not be made a string by the database driver, which ends the process, and
 * one over 100 MiB is more than a Node client takes in one message. A snapshot is a row a task.
 */
export const MAX_REPLAY_BYTES = 16 * 2 ** 20;

export interface ReadBoardOptions {
  /** The org of an HTTP route's slug (see `BoardLocator`). */
  scopeOrgId?: string;
  /** The last `seq` the client holds: answer the events after it, where the log still has them. */
  sinceSeq?: number;
  /** Runs once the role is checked and before anything is read: a socket joins the board's room there. */
  onAuthorized?: (orgId: string) => void;
  /** Whether the reader still waits for the board: when its turn comes and no one does, nothing is read (`Turns`). */
  stillWanted?: StillWanted;
  /**
   * Shares the snapshot with the readers of the board who wait for their turn with it: a socket's
   * join, which a revocation that commits meanwhile reaches (its caller checks `revokedFrom`).
   * Otherwise (HTTP) the reader reads its own, its standing checked again in that statement.
   */
  shared?: boolean;
}

/**
 * The board for a reader of its org: the events after `sinceSeq` where the log still holds them
 * all, or else the snapshot. The socket joins the room (`onAuthorized`) before anything is read,
 * so every event committed after the read is still to be broadcast to it; the snapshot's `seq`
 * and rows come from one statement, so they agree. Sockets' joins of one board that wait for
 * their turn together share one snapshot (`Turns.shared`): a team opening a big board at once, or
 * a crowd moving here from a stopped node, costs a few reads of it, not one each. The reader's
 * standing is checked before its turn, and an HTTP reader's again in the statement that reads the
 * board, so that a removal committed while it waited is not answered with the board (a socket's
 * join learns of it from the kick).
 */
export async function readBoard(
  ctx: AppContext,
  principal: Principal,
  projectId: string,
  options: ReadBoardOptions = {},
): Promise<{ orgId: string; board: Wire<BoardJoinData> }> {
  const target = await ctx.locator.target('project', projectId, options.scopeOrgId);
  const { orgId } = target;
  authorize(await standingIn(ctx.orm, orgId, principal), principal, orgId, 'board:read', target.outsider);
  if (!target.projectId) throw notFound(target.what);
  const boardId = target.projectId;
  options.onAuthorized?.(orgId);
  const { sinceSeq, stillWanted } = options;
  if (sinceSeq !== undefined) {
    const replay = await ctx.arrivals.run(
      () => readAsTenant(ctx.orm, orgId, eventsSince(boardId, orgId, sinceSeq, principal)),
      stillWanted,
    );
    if (replay) return { orgId, board: replay };
  }
  if (!options.shared) {
    const readerStands = holds(principal, orgId, 'board:read');
    try {
      const board = await ctx.arrivals.run(() => readAsTenant(ctx.orm, orgId, snapshot(boardId, orgId, readerStands)), stillWanted);
      return { orgId, board };
    } catch (error) {
      // No board for a reader who lost their standing while the read waited: refused as they now are.
      if (error instanceof DomainError && error.code === 'NOT_FOUND')
        authorize(await standingIn(ctx.orm, orgId, principal), principal, orgId, 'board:read', target.outsider);
      throw error;
    }
  }
  const board = await ctx.arrivals.shared(`${orgId}/${boardId}`, () => readAsTenant(ctx.orm, orgId, snapshot(boardId, orgId)), stillWanted);
  return { orgId, board };
}

/** A `board_events` row's columns as a `board:event` names them. */
const EVENT_JSON_COLUMNS = sql`project_id as "projectId", seq, type, actor, payload as data,
  client_mutation_id as "clientMutationId", ${isoTime(sql`created_at`)} as at`;

/** When a member came into the org, on a `memberships` row: their joining (their row's making before joinings were stamped). */
const MEMBER_SINCE = sql`coalesce(joined_at, created_at)`;
/** When a key came into the org, on an `api_keys` row: its making. */
const KEY_SINCE = sql`created_at`;

/**
 * When the reader came into the org (`MEMBER_SINCE`, `KEY_SINCE`; null for anyone else, a super
 * admin reading an org that is not theirs).
 */
function readerSince(principal: Principal, orgId: string): Sql {
  return principal.kind === 'user'
    ? sql`(select ${MEMBER_SINCE} from memberships where org_id = ${orgId} and user_id = ${principal.userId})`
    : sql`(select ${KEY_SINCE} from api_keys where org_id = ${orgId} and id = ${principal.keyId})`;
}

/**
 * The events after `sinceSeq` up to the board's `seq`, in one statement, their JSON as the
 * database writes it; null where the log no longer holds them all (or never did), or there are
 * more than `MAX_REPLAY`, or their data is over `MAX_REPLAY_BYTES`, or any of them is older than
 * the reader's place in the org (`readerSince`): a replay never shows someone what happened on
 * the board before they came, such as a card deleted before they were invited, with its text
 * (the data-lifecycle review). The snapshot answers them instead.
 */
function eventsSince(projectId: string, orgId: string, sinceSeq: number, reader: Principal): TenantRead<Wire<BoardJoinData> | null> {
  return {
    statement: sql`select p.seq, log.kept, log.events
       from projects p, lateral (
         select coalesce(sum(octet_length(payload::text)), 0) as bytes, min(created_at) >= ${readerSince(reader, orgId)} as seen
           from board_events
          where project_id = p.id and org_id = p.org_id and seq > ${sinceSeq} and seq <= p.seq
            and p.seq - ${sinceSeq} <= ${MAX_REPLAY}) size, lateral (
         select count(*)::int as kept, coalesce(json_agg(row_to_json(event) order by event.seq), '[]'::json)::text as events
           from (select ${EVENT_JSON_COLUMNS}
                   from board_events
                  where project_id = p.id and org_id = p.org_id and seq > ${sinceSeq} and seq <= p.seq
                    and p.seq - ${sinceSeq} <= ${MAX_REPLAY} and size.bytes <= ${MAX_REPLAY_BYTES} and size.seen) event) log
       where p.id = ${projectId} and p.org_id = ${orgId}`,
    read: ([row]) => {
      if (!row) throw notFound('project');
      const { seq, kept, events } = row as { seq: number; kept: number; events: string };
      if (sinceSeq > seq || kept !== seq - sinceSeq) return null;
      return { events: rawJson<BoardEventJson[]>(events), seq };
    },
  };
}

/**
 * The board in one statement, so its `seq`, columns and tasks come from one snapshot of the
 * database: a row a task, in byte order of position (a 1,000-task board is read, not managed),
 * the first also carrying the board's `seq`, the project and its columns as the database writes
 * their JSON, and the tasks' labels (the one row, its task fields null, of a board without
 * tasks). The tasks' JSON is written here, from the rows (`boardTasksJson`). All of it goes to
 * the client as it was written (`rawJson`). It names the org as the tenant filter would, and
 * row-level security holds it too.
 */
function snapshot(projectId: string, orgId: string, readerStands = sql`true`): TenantRead<Wire<BoardSnapshot>> {
  const first = sql`t.n is null or t.n = 1`;
  return {
    statement: sql`select case when ${first} then p.seq end as seq,
         case when ${first} then row_to_json(p)::text end as project,
         case when ${first} then (select coalesce(json_agg(c order by c.position collate "C"), '[]'::json)
            from (select id, project_id as "projectId", name, position, is_done as "isDone"
                    from board_columns where project_id = p.id and org_id = p."orgId") c)::text end as columns,
         case when ${first} then ${boardLabels(sql`p.id`, sql`p."orgId"`)} end as labels,
         t.*
       from (select id, org_id as "orgId", name, description, status, seq from projects
              where id = ${projectId} and org_id = ${orgId} and ${readerStands}) p
       left join lateral (${boardTaskRows(sql`p.id`, sql`p."orgId"`)}) t on true
       order by t.n`,
    read: (rows) => {
      const [row] = rows;
      if (!row) throw notFound('project');
      const { seq, project, columns, labels } = row as { seq: number; project: string; columns: string; labels: Record<string, string[]> };
      return {
        project: rawJson<ProjectJson>(project),
        columns: rawJson<ColumnJson[]>(columns),
        tasks: boardTasksJson(row.id === null ? [] : rows, labels),
        seq,
      };
    },
  };
}

/** A board's latest event, and which of the readers asked about were in the org when it happened. */
export interface LatestEvent {
  event: BoardEventJson;
  /** The ids of the users and keys among the readers who may see it: members or keys of the org since before it. */
  readers: Set<string>;
}

/**
 * The latest event of each of these boards of one org (none for a board that has logged none):
 * the one at the board's `seq`, which the log always keeps; with the readers among `readers`
 * (users' and keys' ids) who may see it, by the rule of a replay (`readerSince`): someone who
 * came into the org after it is never shown it (a card deleted before they were invited, with its
 * text).
 */
export async function latestEvents(
  ctx: AppContext,
  orgId: string,
  projectIds: string[],
  readers: { userIds: string[]; keyIds: string[] },
): Promise<LatestEvent[]> {
  const rows = await inTenant(ctx.orm, orgId, (em) =>
    em.execute<Array<{ event: string; readers: string[] }>>(
      ...sql`with latest as (
               select id, created_at from board_events
                where org_id = ${orgId}
                  and (project_id, seq) in (select id, seq from projects where id = any(${projectIds}::uuid[]) and org_id = ${orgId}))
             select (select row_to_json(event)::text from (select ${EVENT_JSON_COLUMNS} from board_events where id = latest.id) event) as event,
                    array(select user_id::text from memberships
                           where org_id = ${orgId} and user_id = any(${readers.userIds}::uuid[]) and ${MEMBER_SINCE} <= latest.created_at
                          union all
                          select id::text from api_keys
                           where org_id = ${orgId} and id = any(${readers.keyIds}::uuid[]) and ${KEY_SINCE} <= latest.created_at) as readers
               from latest`.bound(),
    ),
  );
  return rows.map((row) => ({ event: JSON.parse(row.event) as BoardEventJson, readers: new Set(row.readers) }));
}

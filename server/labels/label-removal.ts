import type { EntityManager } from '@mikro-orm/postgresql';
import type { BoardEventJson } from '../../shared/wire.js';
import type { Logged } from '../board/board-event-order.js';
import { eventInsert, pruneEvents } from '../board/event-log.js';
import { sql } from '../db/sql-script.js';
import { TASK_JSON } from '../tasks/task-row.js';

/**
 * Takes a label off every task of the org that carries it, in a few statements however many
 * tasks that is (one statement per task, as it once was, held every board of the org locked for
 * seconds on a label of a few thousand cards). Each such task's version goes up by one, and its
 * board logs a `task.updated` of it (`labelIds` changed), its task JSON built by the database, at
 * the board's next seqs, the board's `seq` written once; each board's log is then pruned as it
 * would have been after each event. `shared` gives what the events have in common (type, actor,
 * time). The caller holds the rows of every board of the org locked. Answers the events, in
 * each board's `seq` order, with the ids of their rows.
 */
export async function takeLabelOffTasks(
  em: EntityManager,
  orgId: string,
  labelId: string,
  shared: BoardEventJson,
  retention: number,
): Promise<Logged[]> {
  const [unlabelled] = await em.execute<Array<{ ids: string }>>(
    ...sql`with unlinked as (delete from task_labels where label_id = ${labelId} and org_id = ${orgId} returning task_id),
         bumped as (update tasks t set version = t.version + 1, updated_at = ${shared.at}::timestamptz
                      from unlinked where t.id = unlinked.task_id returning t.id)
       select coalesce(array_agg(id), '{}')::text as ids from bumped`.bound(),
  );
  if (!unlabelled || unlabelled.ids === '{}') return [];
  // Each board's tasks numbered from 1 (`n`, of `k`), and the board's seq moved past them all.
  const logged = await em.execute<Array<{ id: string; project_id: string; seq: number; payload: unknown }>>(
    ...sql`with unlabelled as (
           select id, project_id, row_number() over (partition by project_id order by id) as n, count(*) over (partition by project_id) as k
             from tasks where id = any(${unlabelled.ids}::uuid[]) and org_id = ${orgId}),
         boards as (
           update projects p set seq = p.seq + b.k from (select distinct project_id, k from unlabelled) b
            where p.id = b.project_id returning p.id, p.seq)
       ${eventInsert(orgId, shared, {
         id: sql`gen_random_uuid()`,
         projectId: sql`u.project_id`,
         seq: sql`(boards.seq - u.k + u.n)::int`,
         data: sql`json_build_object('task', ${TASK_JSON}, 'changed', json_build_array('labelIds'))::jsonb`,
         from: sql`unlabelled u join boards on boards.id = u.project_id join tasks t on t.id = u.id`,
       })}
       returning id, project_id, seq, payload`.bound(),
  );
  const events = logged
    .map((row): Logged => ({ id: row.id, event: { ...shared, projectId: row.project_id, seq: row.seq, data: row.payload } }))
    .sort((a, b) => a.event.projectId.localeCompare(b.event.projectId) || a.event.seq - b.event.seq);
  for (const [projectId, { first, last }] of seqRanges(events.map(({ event }) => event))) {
    await em.execute(...pruneEvents(projectId, retention, { first: sql`${first}::int`, last: sql`${last}::int` }).bound());
  }
  return events;
}

/** The first and last seq of each board's events, which come in each board's `seq` order. */
function seqRanges(events: BoardEventJson[]): Map<string, { first: number; last: number }> {
  const ranges = new Map<string, { first: number; last: number }>();
  for (const { projectId, seq } of events) {
    const range = ranges.get(projectId);
    if (range) range.last = seq;
    else ranges.set(projectId, { first: seq, last: seq });
  }
  return ranges;
}

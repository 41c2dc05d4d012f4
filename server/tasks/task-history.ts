import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor, TaskField } from '../../shared/wire.js';
import type { ITask } from './task.entity.js';

/** The fields a client can set: a delete clashes with a change to any of them. */
export const EVERY_FIELD: TaskField[] = ['title', 'description', 'priority', 'assigneeId', 'dueDate', 'columnId', 'position', 'labelIds'];

/**
 * The versions of one task after `baseVersion` that the board's event log holds, newest first:
 * the task after each change, the fields it made and who made it. Every event that bumps a
 * task's version is here: a task event names its fields; a column deleted with `moveTasksTo`
 * moved each of its tasks (`tasks`) to another column. Read from the log's newest event back, and
 * no further than the versions asked for: a stale `baseVersion` is mostly a few changes old, and
 * reading the whole log (15,000 events of a board at most) took 26-109 ms with the board locked
 * (the data-lifecycle review).
 */
export const TASK_VERSIONS_SINCE = `
  select version.changed, (event.actor->>'kind' = ? and event.actor->>'id' = ?) as mine
    from board_events event, lateral (
      select event.payload->'task' as task, event.payload->'changed' as changed
       where event.type in ('task.updated', 'task.moved')
      union all
      select moved.task, '["columnId", "position"]'::jsonb
        from jsonb_array_elements(case when event.type = 'column.deleted' then event.payload->'tasks' end) as moved(task)) version
   where event.project_id = ? and event.type in ('task.updated', 'task.moved', 'column.deleted')
     and version.task->>'id' = ? and (version.task->>'version')::int > ?
   order by event.seq desc
   limit ?`;

/**
 * The fields of a task that someone other than `by` changed after `baseVersion`, read from the
 * board's event log (`by`'s own changes never clash with its later ones). Where the log no longer
 * holds every version since then, every field counts as changed, so a merge is never guessed.
 */
export async function fieldsChangedSince(em: EntityManager, task: ITask, baseVersion: number, by: Actor): Promise<Set<TaskField>> {
  const versions = task.version - baseVersion;
  const rows = await em.execute<Array<{ changed: TaskField[]; mine: boolean }>>(TASK_VERSIONS_SINCE, [
    by.kind,
    by.id,
    task.project.id,
    task.id,
    baseVersion,
    versions,
  ]);
  if (rows.length < versions) return new Set(EVERY_FIELD);
  return new Set(rows.filter((row) => !row.mine).flatMap((row) => row.changed));
}

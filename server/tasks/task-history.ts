import type { EntityManager } from '@mikro-orm/postgresql';
import type { Actor, TaskField } from '../../shared/wire.js';
import type { ITask } from './task.entity.js';

/** The fields a client can set: a delete clashes with a change to any of them. */
export const EVERY_FIELD: TaskField[] = ['title', 'description', 'priority', 'assigneeId', 'dueDate', 'columnId', 'position', 'labelIds'];

/**
 * Each version of a board's tasks that its event log holds, as the task after the change and the
 * fields the change made: every event that bumps a task's version is here. A task event names its
 * fields; a column deleted with `moveTasksTo` moved each of its tasks (`tasks`) to another column.
 */
const TASK_VERSIONS = `
  select payload->'task' as task, payload->'changed' as changed, actor
    from board_events
   where project_id = ? and type in ('task.updated', 'task.moved')
  union all
  select moved.task, '["columnId", "position"]'::jsonb, actor
    from board_events, jsonb_array_elements(payload->'tasks') as moved(task)
   where project_id = ? and type = 'column.deleted'`;

/**
 * The fields of a task that someone other than `by` changed after `baseVersion`, read from the
 * board's event log (`by`'s own changes never clash with its later ones). Where the log no longer
 * holds every version since then, every field counts as changed, so a merge is never guessed.
 */
export async function fieldsChangedSince(em: EntityManager, task: ITask, baseVersion: number, by: Actor): Promise<Set<TaskField>> {
  const rows = await em.execute<Array<{ changed: TaskField[]; mine: boolean }>>(
    `select changed, (actor->>'kind' = ? and actor->>'id' = ?) as mine from (${TASK_VERSIONS}) versions
      where task->>'id' = ? and (task->>'version')::int > ?`,
    [by.kind, by.id, task.project.id, task.project.id, task.id, baseVersion],
  );
  if (rows.length < task.version - baseVersion) return new Set(EVERY_FIELD);
  return new Set(rows.filter((row) => !row.mine).flatMap((row) => row.changed));
}

import type { EntityManager } from '@mikro-orm/postgresql';
import type { TaskField } from '../../shared/wire.js';
import type { ITask } from './task.entity.js';

const EVERY_FIELD: TaskField[] = ['title', 'description', 'priority', 'assigneeId', 'dueDate', 'columnId', 'position', 'labelIds'];

/**
 * Each version of a board's tasks that its event log holds, as the task after the change and the
 * fields the change made: every event that bumps a task's version is here. A task event names its
 * fields; a column deleted with `moveTasksTo` moved each of its tasks (`tasks`) to another column.
 */
const TASK_VERSIONS = `
  select payload->'task' as task, payload->'changed' as changed
    from board_events
   where project_id = ? and type in ('task.updated', 'task.moved')
  union all
  select moved.task, '["columnId", "position"]'::jsonb
    from board_events, jsonb_array_elements(payload->'tasks') as moved(task)
   where project_id = ? and type = 'column.deleted'`;

/**
 * The fields of a task changed after `baseVersion`, read from the board's event log. Where the
 * log no longer holds every version since then, every field counts as changed, so a merge is
 * never guessed.
 */
export async function fieldsChangedSince(em: EntityManager, task: ITask, baseVersion: number): Promise<Set<TaskField>> {
  const rows = await em.execute<Array<{ changed: TaskField[] }>>(
    `select changed from (${TASK_VERSIONS}) versions
      where task->>'id' = ? and (task->>'version')::int > ?`,
    [task.project.id, task.project.id, task.id, baseVersion],
  );
  if (rows.length < task.version - baseVersion) return new Set(EVERY_FIELD);
  return new Set(rows.flatMap((row) => row.changed));
}

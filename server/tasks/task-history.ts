import type { EntityManager } from '@mikro-orm/postgresql';
import type { TaskField } from '../../shared/wire.js';
import type { ITask } from './task.entity.js';

const EVERY_FIELD: TaskField[] = ['title', 'description', 'priority', 'assigneeId', 'dueDate', 'columnId', 'position', 'labelIds'];

/**
 * The fields of a task changed after `baseVersion`, read from the board's event log. Where the
 * log no longer holds every version since then, every field counts as changed, so a merge is
 * never guessed.
 */
export async function fieldsChangedSince(em: EntityManager, task: ITask, baseVersion: number): Promise<Set<TaskField>> {
  const rows = await em.execute<Array<{ version: number; changed: TaskField[] }>>(
    `select (payload->'task'->>'version')::int as version, payload->'changed' as changed
       from board_events
      where project_id = ? and type in ('task.updated', 'task.moved')
        and payload->'task'->>'id' = ? and (payload->'task'->>'version')::int > ?`,
    [task.project.id, task.id, baseVersion],
  );
  if (rows.length < task.version - baseVersion) return new Set(EVERY_FIELD);
  return new Set(rows.flatMap((row) => row.changed));
}

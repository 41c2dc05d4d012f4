import { type Sql, sql } from '../db/sql-script.js';

/** A timestamp as `Date.prototype.toISOString` writes it, for JSON the database builds. */
function isoTime(column: Sql): Sql {
  return sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/**
 * The wire JSON of a row of `tasks t` (`TaskJson`, as `toTaskJson` makes it of an entity), built
 * by the database: a snapshot's tasks and the task in a quick change's event come as they go out.
 */
export const TASK_JSON = sql`json_build_object('id', t.id, 'projectId', t.project_id, 'columnId', t.column_id,
  'title', t.title, 'description', t.description, 'priority', t.priority, 'assigneeId', t.assignee_id,
  'dueDate', t.due_date, 'position', t.position, 'version', t.version,
  'labelIds', (select coalesce(json_agg(label_id order by label_id), '[]'::json) from task_labels where task_id = t.id),
  'createdBy', t.created_by_id, 'createdAt', ${isoTime(sql`t.created_at`)}, 'updatedAt', ${isoTime(sql`t.updated_at`)},
  'completedAt', ${isoTime(sql`t.completed_at`)})`;

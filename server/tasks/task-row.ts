import { isoTime, sql } from '../db/sql-script.js';

/**
 * The wire JSON of the row `t` of `tasks` (`TaskJson`, as `toTaskJson` makes it of an entity),
 * built by the database, so that a snapshot's tasks and the task in a quick change's event go
 * out as they come. (`row_to_json` of a row of named columns costs PostgreSQL less than
 * `json_build_object`, which looks up each value's type on every call.)
 */
export const TASK_JSON = sql`(select row_to_json(task) from (select t.id, t.project_id as "projectId", t.column_id as "columnId",
  t.title, t.description, t.priority, t.assignee_id as "assigneeId", t.due_date as "dueDate", t.position, t.version,
  (select coalesce(json_agg(label_id order by label_id), '[]'::json) from task_labels where task_id = t.id) as "labelIds",
  t.created_by_id as "createdBy", ${isoTime(sql`t.created_at`)} as "createdAt", ${isoTime(sql`t.updated_at`)} as "updatedAt",
  ${isoTime(sql`t.completed_at`)} as "completedAt") task)`;

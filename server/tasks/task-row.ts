import type { TaskJson } from '../../shared/wire.js';
import { isoTime, type Sql, sql } from '../db/sql-script.js';
import { type Raw, rawJson } from '../raw-json.js';

/**
 * The wire fields of the row `t` of `tasks` in the order of `TaskJson` (as `toTaskJson` makes it of
 * an entity), as a select list whose every value is already its wire form: text for the dates and
 * times, so that neither `pg` nor JSON changes them. The labels are `labelIds`, SQL.
 */
function taskFields(labelIds: Sql): Sql {
  return sql`t.id, t.project_id as "projectId", t.column_id as "columnId", t.title, t.description, t.priority,
    t.assignee_id as "assigneeId", to_char(t.due_date, 'YYYY-MM-DD') as "dueDate", t.position, t.version,
    ${labelIds} as "labelIds", t.created_by_id as "createdBy", ${isoTime(sql`t.created_at`)} as "createdAt",
    ${isoTime(sql`t.updated_at`)} as "updatedAt", ${isoTime(sql`t.completed_at`)} as "completedAt"`;
}

/**
 * The wire JSON of the row `t` of `tasks`, built by the database, so that the task in a quick
 * change's event is logged and sent as it comes. (`row_to_json` of a row of named columns costs
 * PostgreSQL less than `json_build_object`, which looks up each value's type on every call.)
 */
export const TASK_JSON = sql`(select row_to_json(task) from (select ${taskFields(
  sql`(select coalesce(json_agg(label_id order by label_id), '[]'::json) from task_labels where task_id = t.id)`,
)}) task)`;

/**
 * The tasks of a board in byte order of position, as rows of their wire fields with the labels
 * null (`boardTasksJson` fills them in). For a whole board this is far cheaper than PostgreSQL
 * writing the JSON: for 1,000 tasks its JSON took 13 ms more than these rows (and their labels
 * 4 ms more as a subquery per task than as `boardTaskLabels`), where `pg` reads the rows and V8
 * writes their JSON in about 2 ms.
 */
export function boardTaskRows(projectId: string, orgId: string): Sql {
  return sql`select ${taskFields(sql`null`)} from tasks t where t.project_id = ${projectId} and t.org_id = ${orgId}
    order by t.position collate "C"`;
}

/** The labels of a board's tasks, a row (`task_id`, `label_id`) each, in the order `TASK_JSON` lists them. */
export function boardTaskLabels(projectId: string, orgId: string): Sql {
  return sql`select tl.task_id, tl.label_id from task_labels tl
    where tl.org_id = ${orgId} and tl.task_id in (select id from tasks where project_id = ${projectId} and org_id = ${orgId})
    order by tl.task_id, tl.label_id`;
}

/**
 * The JSON of the tasks of `boardTaskRows` with their labels from `boardTaskLabels`, written once
 * here and sent as it is (`rawJson`).
 */
export function boardTasksJson(rows: Array<Record<string, unknown>>, labelRows: Array<Record<string, unknown>>): Raw<TaskJson[]> {
  const labels = new Map<string, string[]>();
  for (const { task_id, label_id } of labelRows as Array<{ task_id: string; label_id: string }>) {
    const ids = labels.get(task_id);
    if (ids) ids.push(label_id);
    else labels.set(task_id, [label_id]);
  }
  for (const row of rows) row.labelIds = labels.get(row.id as string) ?? [];
  return rawJson(JSON.stringify(rows));
}

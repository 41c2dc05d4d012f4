import { sql } from '../db/sql-script.js';
import type { TaskJson } from '../../shared/wire.js';

/** A task row as SQL reads it (`TASK_COLUMNS` of `tasks t`), with its label ids. */
export interface TaskRow {
  id: string;
  project_id: string;
  column_id: string;
  title: string;
  description: string | null;
  priority: number;
  assignee_id: string | null;
  due_date: string | Date | null;
  position: string;
  version: number;
  created_by_id: string | null;
  created_at: string | Date;
  updated_at: string | Date;
  completed_at: string | Date | null;
  label_ids: string[];
}

/** The columns of `tasks t` that make a task's JSON, with its label ids. */
export const TASK_COLUMNS = sql`t.id, t.project_id, t.column_id, t.title, t.description, t.priority, t.assignee_id, t.due_date,
  t.position, t.version, t.created_by_id, t.created_at, t.updated_at, t.completed_at,
  (select coalesce(json_agg(label_id order by label_id), '[]'::json) from task_labels where task_id = t.id) as label_ids`;

/** The wire JSON of a task row (see `toTaskJson` for an entity). */
export function taskJsonOf(row: TaskRow): TaskJson {
  return {
    id: row.id,
    projectId: row.project_id,
    columnId: row.column_id,
    title: row.title,
    description: row.description,
    priority: row.priority,
    assigneeId: row.assignee_id,
    dueDate: dateOnly(row.due_date),
    position: row.position,
    version: row.version,
    labelIds: [...row.label_ids].sort(),
    createdBy: row.created_by_id,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    completedAt: row.completed_at === null ? null : new Date(row.completed_at).toISOString(),
  };
}

function dateOnly(value: string | Date | null): string | null {
  if (value === null) return null;
  return typeof value === 'string' ? value.slice(0, 10) : value.toISOString().slice(0, 10);
}

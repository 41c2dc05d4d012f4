import type { QuickChange } from '../board/quick-board-change.js';
import { join, type Sql, sql } from '../db/sql-script.js';
import type { TaskPatch } from '../../shared/schemas.js';
import type { TaskEventData, TaskField } from '../../shared/wire.js';
import { TASK_COLUMNS, type TaskRow, taskJsonOf } from './task-row.js';

/** The fields one statement may set, with their columns and casts. */
const PLAIN = {
  title: { column: sql`title`, cast: sql`varchar` },
  description: { column: sql`description`, cast: sql`text` },
  priority: { column: sql`priority`, cast: sql`smallint` },
  dueDate: { column: sql`due_date`, cast: sql`date` },
} as const;
type PlainField = keyof typeof PLAIN;

/**
 * The common update — title, description, priority or due date, no merge to judge — as one
 * statement that changes the row and returns it as it was and is, instead of loading the task
 * through the ORM first (DESIGN §9: no read of what the transaction is about to write). It names
 * the org as the tenant filter would, and row-level security holds it too. Null when the patch
 * is not that simple. The statement changes nothing, and `applied` is null, when the patch
 * changes nothing, or finds no task, or `baseVersion` is stale: the general path then decides.
 */
export function plainTaskUpdate(
  where: { orgId: string; taskId: string },
  patch: TaskPatch,
  baseVersion: number | undefined,
): QuickChange | null {
  const fields = Object.keys(patch) as Array<keyof TaskPatch>;
  if (fields.length === 0 || !fields.every((field): field is PlainField => field in PLAIN)) return null;
  const value = (field: PlainField) => sql`${patch[field] ?? null}::${PLAIN[field].cast}`;
  const list = (each: (field: PlainField) => Sql, separator: string) => join(fields.map(each), separator);
  return {
    statement: (projectId, seqTaken) => sql`update tasks t set ${list((f) => sql`${PLAIN[f].column} = ${value(f)}`, ', ')},
           version = t.version + 1, updated_at = ${new Date()}
      from (select * from tasks where id = ${where.taskId} and project_id = ${projectId} and org_id = ${where.orgId} for update) old
     where t.id = old.id and ${seqTaken} ${baseVersion === undefined ? sql`` : sql`and t.version = ${baseVersion}`}
       and (${list((f) => sql`t.${PLAIN[f].column} is distinct from ${value(f)}`, ' or ')})
 returning ${TASK_COLUMNS}, ${list((f) => sql`old.${PLAIN[f].column} as old_${PLAIN[f].column}`, ', ')}`,
    applied: (rows) => {
      const row = rows[0] as (TaskRow & Record<string, unknown>) | undefined;
      if (!row) return null;
      const task = taskJsonOf(row);
      const changed = fields.filter((field) => !same(row[`old_${PLAIN[field as PlainField].column.text}`], task[field as PlainField]));
      return { data: { task, changed: changed as TaskField[] } satisfies TaskEventData };
    },
  };
}

function same(old: unknown, now: unknown): boolean {
  const normal = (value: unknown) => (value instanceof Date ? value.toISOString().slice(0, 10) : value);
  return normal(old) === normal(now);
}

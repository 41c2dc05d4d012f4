import type { QuickChange } from '../board/quick-board-change.js';
import { join, type Sql, sql } from '../db/sql-script.js';
import type { TaskPatch } from '../../shared/schemas.js';
import { TASK_JSON } from './task-row.js';

/** The fields one statement may set, with their columns and casts. */
const PLAIN = {
  title: { column: sql`title`, cast: sql`varchar` },
  description: { column: sql`description`, cast: sql`text` },
  priority: { column: sql`priority`, cast: sql`smallint` },
  dueDate: { column: sql`due_date`, cast: sql`date` },
} as const;
type PlainField = keyof typeof PLAIN;

/**
 * The common update (title, description, priority or due date, no merge to judge) as one
 * statement that changes the row and returns the event's data (`TaskEventData`: the task as it
 * now is, and the fields that changed), instead of loading the task through the ORM first
 * (DESIGN §9: no read of what the transaction is about to write). It names the org as the tenant
 * filter would, and row-level security holds it too. Null when the patch is not that simple. The
 * statement changes nothing, and returns no row, when the patch changes nothing, or finds no
 * task, or `baseVersion` is stale: the general path then decides.
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
  const changes = (field: PlainField, was: Sql) => sql`${was}.${PLAIN[field].column} is distinct from ${value(field)}`;
  // A patch of one field changed it if the statement ran at all; of more, the row as it was tells.
  const [only] = fields;
  const changed =
    fields.length === 1
      ? sql`json_build_array(${only!}::text)`
      : sql`to_json(array_remove(array[${list((f) => sql`case when ${changes(f, sql`old`)} then ${f}::text end`, ', ')}], null))`;
  return {
    statement: (projectId, mayWrite) => {
      const task = sql`id = ${where.taskId} and project_id = ${projectId} and org_id = ${where.orgId}`;
      return sql`update tasks t set ${list((f) => sql`${PLAIN[f].column} = ${value(f)}`, ', ')},
           version = t.version + 1, updated_at = ${new Date()}
      ${fields.length === 1 ? sql`where ${task}` : sql`from (select * from tasks where ${task} for no key update) old where t.id = old.id`}
       and ${mayWrite} ${baseVersion === undefined ? sql`` : sql`and t.version = ${baseVersion}`}
       and (${list((f) => changes(f, sql`t`), ' or ')})
 returning json_build_object('task', ${TASK_JSON}, 'changed', ${changed}) as data`;
    },
  };
}

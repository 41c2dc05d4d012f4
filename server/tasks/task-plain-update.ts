import type { EntityManager } from '@mikro-orm/postgresql';
import type { TaskPatch } from '../../shared/schemas.js';
import type { TaskEventData, TaskField } from '../../shared/wire.js';
import { TASK_COLUMNS, type TaskRow, taskJsonOf } from './task-row.js';

/** The fields one statement may set, with their columns and casts. */
const PLAIN = {
  title: { column: 'title', cast: 'varchar' },
  description: { column: 'description', cast: 'text' },
  priority: { column: 'priority', cast: 'smallint' },
  dueDate: { column: 'due_date', cast: 'date' },
} as const;
type PlainField = keyof typeof PLAIN;

/**
 * The common update — title, description, priority or due date, no merge to judge — in one
 * statement that changes the row and returns it as it was and is, instead of loading the task
 * through the ORM first (DESIGN §9: no read of what the transaction is about to write). It names
 * the org as the tenant filter would, and row-level security holds it too. Null when the update
 * is not that simple, or changes nothing, or finds no task, or `baseVersion` is stale: the
 * caller's general path then decides, in the same transaction.
 */
export async function updatePlainFields(
  em: EntityManager,
  where: { orgId: string; projectId: string; taskId: string },
  patch: TaskPatch,
  baseVersion: number | undefined,
): Promise<{ data: TaskEventData } | null> {
  const fields = Object.keys(patch) as Array<keyof TaskPatch>;
  if (fields.length === 0 || !fields.every((field): field is PlainField => field in PLAIN)) return null;
  const values = fields.map((field) => patch[field as PlainField] ?? null);
  const sets = fields.map((field) => `${PLAIN[field as PlainField].column} = ?::${PLAIN[field as PlainField].cast}`);
  const olds = fields.map((field) => `old.${PLAIN[field as PlainField].column} as old_${PLAIN[field as PlainField].column}`);
  const differs = fields.map((field) => `t.${PLAIN[field as PlainField].column} is distinct from ?::${PLAIN[field as PlainField].cast}`);
  const rows = await em.execute<Array<TaskRow & Record<`old_${string}`, unknown>>>(
    `update tasks t set ${sets.join(', ')}, version = t.version + 1, updated_at = ?
       from (select * from tasks where id = ? and project_id = ? and org_id = ? for update) old
      where t.id = old.id ${baseVersion === undefined ? '' : 'and t.version = ?'} and (${differs.join(' or ')})
      returning ${TASK_COLUMNS}, ${olds.join(', ')}`,
    [...values, new Date(), where.taskId, where.projectId, where.orgId, ...(baseVersion === undefined ? [] : [baseVersion]), ...values],
  );
  const row = rows[0];
  if (!row) return null;
  const task = taskJsonOf(row);
  const changed = fields.filter(
    (field) => !same(row[`old_${PLAIN[field as PlainField].column}`], task[field as PlainField]),
  ) as TaskField[];
  return { data: { task, changed } };
}

function same(old: unknown, now: unknown): boolean {
  const normal = (value: unknown) => (value instanceof Date ? value.toISOString().slice(0, 10) : value);
  return normal(old) === normal(now);
}

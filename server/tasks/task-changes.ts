import { type Sql, sql } from '../db/sql-script.js';
import type { IColumn } from '../projects/column.entity.js';
import type { ITask } from './task.entity.js';

/** Every change of a task, whatever path makes it: one version more, updated `now`. */
export function bump(task: ITask, now = new Date()): ITask {
  task.version += 1;
  task.updatedAt = now;
  return task;
}

/**
 * Puts the task in `column`, from a column that was done or not (`wasDone`): `completedAt` is set
 * as it enters a done column and cleared as it leaves one (DESIGN §3). Answers whether
 * `completedAt` changed.
 */
export function putInColumn(task: ITask, column: IColumn, wasDone: boolean, now = new Date()): boolean {
  const before = task.completedAt ?? null;
  if (column.isDone && !wasDone) task.completedAt = now;
  if (!column.isDone) task.completedAt = null;
  task.column = column;
  return (task.completedAt ?? null) !== before;
}

/** `putInColumn`'s `completedAt` for the row `t` of `tasks`, in SQL, for a statement that moves many. */
export function completedAtIn(column: IColumn, wasDone: boolean, now: Date): Sql {
  if (column.isDone && !wasDone) return sql`${now}::timestamptz`;
  return column.isDone ? sql`t.completed_at` : sql`null`;
}

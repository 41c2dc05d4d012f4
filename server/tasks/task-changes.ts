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
 * Puts the task in another column, `column`, from one that was done or not (`wasDone`):
 * `completedAt` is set as it enters a done column and cleared as it leaves one (DESIGN §3). From
 * one done column to another it keeps the time it has, or gets one if it has none (its column was
 * marked done after it came, which leaves `completedAt` as it is). Answers whether `completedAt`
 * changed.
 */
export function putInColumn(task: ITask, column: IColumn, wasDone: boolean, now = new Date()): boolean {
  const before = task.completedAt ?? null;
  if (!column.isDone) task.completedAt = null;
  else if (!wasDone || !task.completedAt) task.completedAt = now;
  task.column = column;
  return (task.completedAt ?? null) !== before;
}

/** `putInColumn`'s `completedAt` for the row `t` of `tasks`, in SQL, for a statement that moves many. */
export function completedAtIn(column: IColumn, wasDone: boolean, now: Date): Sql {
  if (!column.isDone) return sql`null`;
  return wasDone ? sql`coalesce(t.completed_at, ${now}::timestamptz)` : sql`${now}::timestamptz`;
}

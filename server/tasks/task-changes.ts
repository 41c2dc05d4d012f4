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

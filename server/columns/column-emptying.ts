import type { EntityManager } from '@mikro-orm/postgresql';
import { generateNKeysBetween } from 'fractional-indexing';
import type { TaskJson } from '../../shared/wire.js';
import { lastPosition } from '../board/positions.js';
import { sql } from '../db/sql-script.js';
import type { IColumn } from '../projects/column.entity.js';
import { completedAtIn } from '../tasks/task-changes.js';
import { TASK_JSON } from '../tasks/task-row.js';

/** How many tasks the column holds. */
export async function tasksIn(em: EntityManager, projectId: string, column: IColumn): Promise<number> {
  const [row] = await em.execute<Array<{ n: number }>>(
    ...sql`select count(*)::int as n from tasks where column_id = ${column.id} and project_id = ${projectId}`.bound(),
  );
  return row!.n;
}

/**
 * Moves every task of `from` to the end of `to`, in their order, in one statement however many
 * there are (through the ORM, 20,000 of them took 6-7 s with the board locked, 4.7-5.2 s of it
 * the node's CPU): each gets the next key after `to`'s last, takes or loses `completedAt` as `to` is
 * done or not (`completedAtIn`), and goes up a version. Answers the tasks as they now stand, in
 * their new order, their JSON built by the database. `count` is how many `from` holds; the
 * board's lock keeps it so.
 */
export async function moveAllTasks(em: EntityManager, projectId: string, from: IColumn, to: IColumn, count: number): Promise<TaskJson[]> {
  const last = await lastPosition(em, { table: 'tasks', scope: 'column_id', scopeId: to.id });
  // Keys are base-62 digits: joined by commas, the list is one value, however long.
  const keys = generateNKeysBetween(last, null, count).join(',');
  const now = new Date();
  const [row] = await em.execute<Array<{ tasks: TaskJson[] }>>(
    ...sql`with moving as (
             select id, row_number() over (order by position collate "C", id) as n
               from tasks where column_id = ${from.id} and project_id = ${projectId}),
           moved as (
             update tasks t set column_id = ${to.id}, position = (string_to_array(${keys}, ','))[moving.n::int],
                    completed_at = ${completedAtIn(to, from.isDone, now)}, version = t.version + 1, updated_at = ${now}
               from moving where t.id = moving.id
             returning moving.n, ${TASK_JSON} as task)
         select coalesce(json_agg(task order by n), '[]') as tasks from moved`.bound(),
  );
  return row!.tasks;
}

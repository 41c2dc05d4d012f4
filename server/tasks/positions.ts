import type { EntityManager } from '@mikro-orm/postgresql';
import { generateKeyBetween } from 'fractional-indexing';
import { invalid } from '../errors.js';
import { Task } from './task.entity.js';

export interface Neighbours {
  afterId?: string;
  beforeId?: string;
}

/**
 * The fractional key for a task placed in `columnId` between the named neighbours, or at the
 * end with none. Keys compare as bytes (`COLLATE "C"`), so no other task is ever renumbered;
 * the board's `seq` lock keeps two writers from picking the same gap.
 */
export async function positionIn(
  em: EntityManager,
  columnId: string,
  movingTaskId: string | null,
  { afterId, beforeId }: Neighbours,
): Promise<string> {
  if (movingTaskId && (afterId === movingTaskId || beforeId === movingTaskId)) throw invalid('a task cannot be placed next to itself');
  const after = afterId ? await neighbourPosition(em, columnId, afterId, 'afterId') : null;
  const before = beforeId ? await neighbourPosition(em, columnId, beforeId, 'beforeId') : null;
  if (after !== null && before !== null) {
    if (after >= before) throw invalid('afterId must come before beforeId in the column');
    return generateKeyBetween(after, before);
  }
  if (after !== null) return generateKeyBetween(after, await adjacent(em, columnId, movingTaskId, after, 'next'));
  if (before !== null) return generateKeyBetween(await adjacent(em, columnId, movingTaskId, before, 'previous'), before);
  return generateKeyBetween(await adjacent(em, columnId, movingTaskId, null, 'previous'), null);
}

async function neighbourPosition(em: EntityManager, columnId: string, taskId: string, field: string): Promise<string> {
  const neighbour = await em.findOne(Task, { id: taskId, column: columnId }, { fields: ['position'] });
  if (!neighbour) throw invalid(`${field} names no task in that column`);
  return neighbour.position;
}

/** The position next to `from` in the column (from the end when `from` is null), skipping the moving task. */
async function adjacent(
  em: EntityManager,
  columnId: string,
  movingTaskId: string | null,
  from: string | null,
  direction: 'next' | 'previous',
): Promise<string | null> {
  const comparison = from === null ? '' : direction === 'next' ? `and position collate "C" > ?` : `and position collate "C" < ?`;
  const order = direction === 'next' ? 'asc' : 'desc';
  const params: unknown[] = [columnId, movingTaskId ?? '00000000-0000-0000-0000-000000000000'];
  if (from !== null) params.push(from);
  const rows = await em.execute<Array<{ position: string }>>(
    `select position from tasks where column_id = ? and id <> ? ${comparison} order by position collate "C" ${order} limit 1`,
    params,
  );
  return rows[0]?.position ?? null;
}

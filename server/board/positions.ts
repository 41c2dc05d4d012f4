import type { EntityManager } from '@mikro-orm/postgresql';
import { generateKeyBetween } from 'fractional-indexing';
import { invalid } from '../errors.js';

export interface Neighbours {
  afterId?: string;
  beforeId?: string;
}

/** An ordered list of rows: tasks within a column, or columns within a board. */
export interface OrderedList {
  table: 'tasks' | 'board_columns';
  /** The column naming the list the rows belong to. */
  scope: 'column_id' | 'project_id';
  scopeId: string;
}

/** The row that moves, and its key where it already is in the list (null when it comes from another). */
export interface Moving {
  id: string;
  position: string | null;
}

/**
 * The fractional key for a row placed between the named neighbours of the list, or at its end
 * with none; with one neighbour, right next to it. A row that already sits at that place keeps
 * its key (the move changes nothing). Keys compare as bytes (`COLLATE "C"`), so no other row is
 * ever renumbered, and the board's `seq` lock keeps two writers from picking the same gap. These
 * raw reads skip the ORM filter; row-level security still holds them to the org.
 */
export async function positionIn(em: EntityManager, list: OrderedList, moving: Moving | null, neighbours: Neighbours): Promise<string> {
  const [lower, upper] = await gapBetweenNeighbours(em, list, moving?.id ?? null, neighbours);
  const current = moving?.position ?? null;
  if (current !== null && (lower === null || lower < current) && (upper === null || current < upper)) return current;
  const position = generateKeyBetween(lower, upper);
  if (position.length > MOST_POSITION_LENGTH) {
    // Each row placed in the same gap halves it, and its key grows about a character every six
    // times: after a thousand or so moves back and forth at one place, no key fits the column.
    const where = list.table === 'tasks' ? 'tasks' : 'columns';
    throw invalid(`no room is left at that place: move one of the ${where} around it elsewhere, then try again`);
  }
  return position;
}

/** The longest key a position column holds (`varchar(200)`). */
const MOST_POSITION_LENGTH = 200;

/** The keys of the two rows (other than the one moving) the new place lies between; null past an end. */
async function gapBetweenNeighbours(
  em: EntityManager,
  list: OrderedList,
  movingId: string | null,
  { afterId, beforeId }: Neighbours,
): Promise<[string | null, string | null]> {
  if (movingId && (afterId === movingId || beforeId === movingId)) throw invalid('nothing can be placed next to itself');
  if (afterId && afterId === beforeId) throw invalid('afterId and beforeId name the same row');
  const after = afterId ? await neighbourPosition(em, list, afterId, 'afterId') : null;
  const before = beforeId ? await neighbourPosition(em, list, beforeId, 'beforeId') : null;
  // Someone may have put a row between the two since the client looked, or put them the other way
  // round: either way, land right after `after`.
  if (after !== null && (before === null || before <= after)) return [after, await adjacent(em, list, movingId, after, 'next')];
  if (after !== null && before !== null) {
    const next = await adjacent(em, list, movingId, after, 'next');
    return [after, next !== null && next < before ? next : before];
  }
  if (before !== null) return [await adjacent(em, list, movingId, before, 'previous'), before];
  return [await adjacent(em, list, movingId, null, 'previous'), null];
}

/** The last position of the list, or null when it is empty. */
export function lastPosition(em: EntityManager, list: OrderedList): Promise<string | null> {
  return adjacent(em, list, null, null, 'previous');
}

async function neighbourPosition(em: EntityManager, list: OrderedList, id: string, field: string): Promise<string> {
  const rows = await em.execute<Array<{ position: string }>>(`select position from ${list.table} where id = ? and ${list.scope} = ?`, [
    id,
    list.scopeId,
  ]);
  if (!rows[0]) throw invalid(`${field} names nothing in that ${list.table === 'tasks' ? 'column' : 'board'}`);
  return rows[0].position;
}

/** The position next to `from` (from the end when `from` is null), skipping the row that moves. */
async function adjacent(
  em: EntityManager,
  list: OrderedList,
  movingId: string | null,
  from: string | null,
  direction: 'next' | 'previous',
): Promise<string | null> {
  const comparison = from === null ? '' : direction === 'next' ? `and position collate "C" > ?` : `and position collate "C" < ?`;
  const order = direction === 'next' ? 'asc' : 'desc';
  const params: unknown[] = [list.scopeId, movingId ?? '00000000-0000-0000-0000-000000000000'];
  if (from !== null) params.push(from);
  const rows = await em.execute<Array<{ position: string }>>(
    `select position from ${list.table} where ${list.scope} = ? and id <> ? ${comparison} order by position collate "C" ${order} limit 1`,
    params,
  );
  return rows[0]?.position ?? null;
}

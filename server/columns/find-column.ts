import type { EntityManager } from '@mikro-orm/postgresql';
import { notFound } from '../errors.js';
import { Column, type IColumn } from '../projects/column.entity.js';

/** A column of the board, or NOT_FOUND (`what` not found): one of another board (or org) is not found either. */
export async function findColumn(em: EntityManager, projectId: string, columnId: string, what = 'column'): Promise<IColumn> {
  const column = await em.findOne(Column, { id: columnId, project: projectId });
  if (!column) throw notFound(what);
  return column;
}

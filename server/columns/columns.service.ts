import type { ColumnChangeData } from '../../shared/events.js';
import type { ColumnCreatePayload, ColumnDeletePayload, ColumnMovePayload, ColumnUpdatePayload } from '../../shared/schemas.js';
import type { ColumnEventData, ColumnField, ColumnJson, TaskJson } from '../../shared/wire.js';
import { type BoardChangeResult, changeBoard } from '../board/board-change.js';
import { positionIn } from '../board/positions.js';
import type { AppContext } from '../context.js';
import { conflict, forbidden, invalid } from '../errors.js';
import { Organization } from '../orgs/organization.entity.js';
import { Column } from '../projects/column.entity.js';
import { Project } from '../projects/project.entity.js';
import { toColumnJson } from '../projects/project.json.js';
import { moveAllTasks, tasksIn } from './column-emptying.js';
import { findColumn } from './find-column.js';
import type { Caller } from '../auth/caller.js';
import { readsBoards } from '../auth/principal.js';

const onBoard = (projectId: string) => ({ table: 'board_columns', scope: 'project_id', scopeId: projectId }) as const;

export async function createColumn(ctx: AppContext, caller: Caller, input: ColumnCreatePayload): Promise<ColumnChangeData> {
  const result = await changeBoard(
    ctx,
    caller,
    { what: 'project', id: input.projectId },
    'column.created',
    input.clientMutationId,
    async (em, projectId, orgId) => {
      const column = em.create(Column, {
        org: em.getReference(Organization, orgId),
        project: em.getReference(Project, projectId),
        name: input.name,
        isDone: input.isDone ?? false,
        position: await positionIn(em, onBoard(projectId), null, { afterId: input.afterId }),
      });
      await em.flush(); // the id is assigned on flush
      return { data: { column: toColumnJson(column) } satisfies ColumnEventData };
    },
  );
  return columnAnswer(result);
}

export async function updateColumn(ctx: AppContext, caller: Caller, input: ColumnUpdatePayload): Promise<ColumnChangeData> {
  const result = await changeBoard(
    ctx,
    caller,
    { what: 'column', id: input.columnId },
    'column.updated',
    input.clientMutationId,
    async (em, projectId) => {
      const column = await findColumn(em, projectId, input.columnId);
      const changed: ColumnField[] = [];
      if (input.patch.name !== undefined && input.patch.name !== column.name) {
        column.name = input.patch.name;
        changed.push('name');
      }
      if (input.patch.isDone !== undefined && input.patch.isDone !== column.isDone) {
        column.isDone = input.patch.isDone;
        changed.push('isDone');
      }
      if (changed.length === 0) return { unchanged: toColumnJson(column) };
      return { data: { column: toColumnJson(column), changed } satisfies ColumnEventData };
    },
  );
  return columnAnswer(result);
}

export async function moveColumn(ctx: AppContext, caller: Caller, input: ColumnMovePayload): Promise<ColumnChangeData> {
  const result = await changeBoard(
    ctx,
    caller,
    { what: 'column', id: input.columnId },
    'column.moved',
    input.clientMutationId,
    async (em, projectId) => {
      const column = await findColumn(em, projectId, input.columnId);
      const position = await positionIn(em, onBoard(projectId), { id: column.id, position: column.position }, input);
      if (position === column.position) return { unchanged: toColumnJson(column) };
      column.position = position;
      return { data: { column: toColumnJson(column), changed: ['position'] } satisfies ColumnEventData };
    },
  );
  return columnAnswer(result);
}

/**
 * Deletes a column. One that holds tasks is deleted only with `moveTasksTo`: its tasks go, in
 * their order, to the end of that column (taking or losing `completedAt` as it is done or not),
 * and the event lists them as they stand after the move; so only by someone who may read them.
 */
export async function deleteColumn(ctx: AppContext, caller: Caller, input: ColumnDeletePayload): Promise<ColumnChangeData> {
  const result = await changeBoard(
    ctx,
    caller,
    { what: 'column', id: input.columnId },
    'column.deleted',
    input.clientMutationId,
    async (em, projectId) => {
      const column = await findColumn(em, projectId, input.columnId);
      // A `moveTasksTo` named is checked whether or not the column holds tasks, so that a client's
      // mistake shows the first time, not once the column has cards.
      if (input.moveTasksTo === column.id) throw invalid('moveTasksTo must be another column');
      const destination = input.moveTasksTo ? await findColumn(em, projectId, input.moveTasksTo, 'moveTasksTo column') : null;
      const count = await tasksIn(em, projectId, column);
      // The answer's event lists the tasks it moved, title and all: not for a key that may not read them.
      if (count > 0 && !readsBoards(caller.principal)) {
        throw forbidden('the column holds tasks, which the answer would show: the API key lacks boards:read');
      }
      if (count > 0 && !destination) {
        throw conflict(`the column holds ${count} task(s); name moveTasksTo, another column of the board, to delete it`);
      }
      // Moved before their old column goes, with its cascade.
      const moved: TaskJson[] = destination && count > 0 ? await moveAllTasks(em, projectId, column, destination, count) : [];
      em.remove(column);
      return { data: { column: toColumnJson(column), tasks: moved } satisfies ColumnEventData };
    },
  );
  return columnAnswer(result);
}

function columnAnswer(result: BoardChangeResult): ColumnChangeData {
  if (result.event) return { column: (result.event.data as ColumnEventData).column, event: result.event };
  return { column: result.unchanged as ColumnJson, event: null };
}

import { useDroppable } from '@dnd-kit/core';
import { SortableContext, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { memo, useMemo, useState } from 'react';
import type { ColumnJson, TaskCreatePayload, TaskJson } from '../../../index.js';
import { AddCardForm } from './AddCardForm.js';
import type { CardContext } from './CardBody.js';
import { sameItems } from './board-view.js';
import { type ColumnActions, ColumnHeader } from './ColumnHeader.js';
import { DeleteColumnDialog } from './DeleteColumnDialog.js';
import { TaskCard } from './TaskCard.js';

/** What a member can change about a column (none of it for a read-only board). */
export interface ColumnChanges {
  rename(column: ColumnJson, name: string): Promise<void>;
  setDone(column: ColumnJson, isDone: boolean): Promise<void>;
  move(column: ColumnJson, direction: 'left' | 'right'): Promise<void>;
  remove(column: ColumnJson, moveTasksTo: string | undefined): Promise<void>;
}

/** A column's `beingCreated` when none is: the same array each time, so the column need not re-render. */
export const NONE_BEING_CREATED: TaskCreatePayload[] = [];

export interface ColumnProps {
  column: ColumnJson;
  /** The board's columns in order, this one among them. */
  columns: ColumnJson[];
  tasks: TaskJson[];
  /** Cards added here that the server has not answered yet (the connection away, say), shown at the foot as on their way. */
  beingCreated: TaskCreatePayload[];
  /** While the board is filtered: how many cards the column holds, those the filter hides included. */
  total: number | undefined;
  context: CardContext;
  /** Task id → the names of the teammates (not the user) who have its dialog open. */
  editors: Map<string, string>;
  readOnly: boolean;
  onOpen(taskId: string): void;
  onCreate(columnId: string, title: string): Promise<void>;
  changes: ColumnChanges;
}

/**
 * A column of the board: its header (and its menu), its cards, in order, a drop target, and a way to add a card.
 * Memoized: a column re-renders only when one of its props changes (`columns` compared item by item),
 * and then only its cards whose props changed.
 */
export const BoardColumn = memo(function BoardColumn({
  column,
  columns,
  tasks,
  beingCreated,
  total,
  context,
  editors,
  readOnly,
  onOpen,
  onCreate,
  changes,
}: ColumnProps) {
  const { setNodeRef, isOver } = useDroppable({ id: column.id });
  // The same list while the ids are the same (a card edited in place), so the cards' sortable context stays the same.
  const ids = tasks.map((task) => task.id).join(' ');
  const items = useMemo(() => (ids ? ids.split(' ') : []), [ids]);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const index = columns.findIndex((c) => c.id === column.id);
  const actions: ColumnActions | null = readOnly
    ? null
    : {
        rename: (name) => changes.rename(column, name),
        setDone: (isDone) => changes.setDone(column, isDone),
        ...(index > 0 ? { moveLeft: () => changes.move(column, 'left') } : {}),
        ...(index >= 0 && index < columns.length - 1 ? { moveRight: () => changes.move(column, 'right') } : {}),
        askDelete: () => setConfirmDelete(true),
      };
  const focusActionsOf = (columnId: string | undefined) =>
    requestAnimationFrame(() => document.querySelector<HTMLElement>(`[data-column-id="${columnId}"] .column-actions > button`)?.focus());
  const closeDelete = () => {
    setConfirmDelete(false);
    focusActionsOf(column.id);
  };
  return (
    <section className={`column${column.isDone ? ' column-done' : ''}`} aria-label={column.name} data-column-id={column.id}>
      <ColumnHeader column={column} count={tasks.length} total={total ?? tasks.length} actions={actions} />
      <SortableContext items={items} strategy={verticalListSortingStrategy}>
        <ul ref={setNodeRef} className={`card-list${isOver ? ' card-list-over' : ''}`}>
          {tasks.map((task) => (
            <TaskCard key={task.id} task={task} context={context} editing={editors.get(task.id)} readOnly={readOnly} onOpen={onOpen} />
          ))}
          {beingCreated.map((task) => (
            <li key={task.clientMutationId} className="card-being-created" aria-label={`${task.title}, being added`}>
              <span className="card-title">{task.title}</span>
              <span className="card-being-created-note">Adding…</span>
            </li>
          ))}
        </ul>
      </SortableContext>
      {!readOnly && <AddCardForm columnName={column.name} onCreate={(title) => onCreate(column.id, title)} />}
      {confirmDelete && !readOnly && (
        <DeleteColumnDialog
          column={column}
          count={total ?? tasks.length}
          columns={columns}
          onClose={closeDelete}
          onDelete={(moveTasksTo) => {
            setConfirmDelete(false);
            // This column is going: the focus goes to its neighbour's menu (it fell to the page's start).
            focusActionsOf((columns[index - 1] ?? columns[index + 1])?.id);
            void changes.remove(column, moveTasksTo);
          }}
        />
      )}
    </section>
  );
}, sameColumnProps);

function sameColumnProps(a: ColumnProps, b: ColumnProps): boolean {
  return (
    a.column === b.column &&
    sameItems(a.columns, b.columns) &&
    a.tasks === b.tasks &&
    a.beingCreated === b.beingCreated &&
    a.total === b.total &&
    a.context === b.context &&
    a.editors === b.editors &&
    a.readOnly === b.readOnly &&
    a.onOpen === b.onOpen &&
    a.onCreate === b.onCreate &&
    a.changes === b.changes
  );
}

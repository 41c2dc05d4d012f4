import { useDroppable } from '@dnd-kit/core';
import { SortableContext, verticalListSortingStrategy } from '@dnd-kit/sortable';
import { useState } from 'react';
import type { ColumnJson, TaskJson } from '../../../index.js';
import { AddCardForm } from './AddCardForm.js';
import type { CardContext } from './CardBody.js';
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

export interface ColumnProps {
  column: ColumnJson;
  /** The board's columns in order, this one among them. */
  columns: ColumnJson[];
  tasks: TaskJson[];
  context: CardContext;
  readOnly: boolean;
  onOpen(taskId: string): void;
  onCreate(columnId: string, title: string): Promise<void>;
  changes: ColumnChanges;
}

/** A column of the board: its header (and its menu), its cards, in order, a drop target, and a way to add a card. */
export function BoardColumn({ column, columns, tasks, context, readOnly, onOpen, onCreate, changes }: ColumnProps) {
  const { setNodeRef, isOver } = useDroppable({ id: column.id });
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
  const closeDelete = () => {
    setConfirmDelete(false);
    requestAnimationFrame(() => document.querySelector<HTMLElement>(`[data-column-id="${column.id}"] .column-actions > button`)?.focus());
  };
  return (
    <section className={`column${column.isDone ? ' column-done' : ''}`} aria-label={column.name} data-column-id={column.id}>
      <ColumnHeader column={column} count={tasks.length} actions={actions} />
      <SortableContext items={tasks.map((task) => task.id)} strategy={verticalListSortingStrategy}>
        <ul ref={setNodeRef} className={`card-list${isOver ? ' card-list-over' : ''}`}>
          {tasks.map((task) => (
            <TaskCard key={task.id} task={task} context={context} readOnly={readOnly} onOpen={() => onOpen(task.id)} />
          ))}
        </ul>
      </SortableContext>
      {!readOnly && <AddCardForm columnName={column.name} onCreate={(title) => onCreate(column.id, title)} />}
      {confirmDelete && !readOnly && (
        <DeleteColumnDialog
          column={column}
          count={tasks.length}
          columns={columns}
          onClose={closeDelete}
          onDelete={(moveTasksTo) => {
            setConfirmDelete(false);
            void changes.remove(column, moveTasksTo);
          }}
        />
      )}
    </section>
  );
}

import { useDroppable } from '@dnd-kit/core';
import { SortableContext, verticalListSortingStrategy } from '@dnd-kit/sortable';
import type { ColumnJson, TaskJson } from '../../../index.js';
import { AddCardForm } from './AddCardForm.js';
import type { CardContext } from './CardBody.js';
import { TaskCard } from './TaskCard.js';

export interface ColumnProps {
  column: ColumnJson;
  tasks: TaskJson[];
  context: CardContext;
  readOnly: boolean;
  onOpen(taskId: string): void;
  onCreate(columnId: string, title: string): Promise<void>;
}

/** A column of the board: its cards, in order, a drop target, and a way to add a card. */
export function BoardColumn({ column, tasks, context, readOnly, onOpen, onCreate }: ColumnProps) {
  const { setNodeRef, isOver } = useDroppable({ id: column.id });
  return (
    <section className={`column${column.isDone ? ' column-done' : ''}`} aria-label={column.name} data-column-id={column.id}>
      <header className="column-header">
        <h2>{column.name}</h2>
        <span className="count" aria-label={`${tasks.length} cards`}>
          {tasks.length}
        </span>
      </header>
      <SortableContext items={tasks.map((task) => task.id)} strategy={verticalListSortingStrategy}>
        <ul ref={setNodeRef} className={`card-list${isOver ? ' card-list-over' : ''}`}>
          {tasks.map((task) => (
            <TaskCard key={task.id} task={task} context={context} readOnly={readOnly} onOpen={() => onOpen(task.id)} />
          ))}
        </ul>
      </SortableContext>
      {!readOnly && <AddCardForm columnName={column.name} onCreate={(title) => onCreate(column.id, title)} />}
    </section>
  );
}

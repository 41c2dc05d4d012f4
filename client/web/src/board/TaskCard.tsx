import { useSortable } from '@dnd-kit/sortable';
import { CSS } from '@dnd-kit/utilities';
import { type KeyboardEvent, memo } from 'react';
import type { TaskJson } from '../../../index.js';
import { CardBody, type CardContext, cardName } from './CardBody.js';

/** A card in its column: dragged with the pointer, a finger or the keyboard (Space), opened with a click or Enter. */
export const TaskCard = memo(function TaskCard({
  task,
  context,
  editing,
  readOnly,
  onOpen: openTask,
}: {
  task: TaskJson;
  context: CardContext;
  /** The names of the teammates who have its dialog open. */
  editing: string | undefined;
  readOnly: boolean;
  /** Stable (the same function at every render), so that an unchanged card skips re-rendering. */
  onOpen(taskId: string): void;
}) {
  const onOpen = () => openTask(task.id);
  const { attributes, listeners, setNodeRef, transform, transition, isDragging } = useSortable({ id: task.id, disabled: readOnly });
  // A read-only card cannot be dragged but still opens: a plain button, neither "disabled" nor "sortable".
  const roles = readOnly ? { role: attributes.role, tabIndex: attributes.tabIndex } : attributes;
  const onKeyDown = (event: KeyboardEvent<HTMLLIElement>) => {
    (listeners?.onKeyDown as ((event: KeyboardEvent) => void) | undefined)?.(event);
    if (event.key !== 'Enter' || event.defaultPrevented) return;
    // The dialog takes the focus as it opens: without this, the same Enter's keypress would
    // press the button focused in it (its Close) and shut it at once.
    event.preventDefault();
    onOpen();
  };
  return (
    <li
      ref={setNodeRef}
      className={`card${isDragging ? ' card-placeholder' : ''}`}
      style={{ transform: CSS.Translate.toString(transform), transition }}
      data-task-id={task.id}
      {...roles}
      aria-label={cardName(task, context, editing)}
      {...listeners}
      onKeyDown={onKeyDown}
      onClick={onOpen}
    >
      <CardBody task={task} context={context} editing={editing} />
    </li>
  );
});

import { memo } from 'react';
import type { LabelJson, MemberJson, TaskJson } from '../../../index.js';
import { Avatar } from '../common/Avatar.js';
import { assigneeOf } from './assignee.js';
import { chipColours } from './label-colours.js';
import { PRIORITIES } from './board-view.js';

export interface CardContext {
  /** The org's members; null until they are read. */
  members: Map<string, MemberJson> | null;
  labels: Map<string, LabelJson>;
  /** Today, `YYYY-MM-DD` in the viewer's time zone (`useToday`), to mark overdue cards. */
  today: string;
}

/**
 * What a card shows: title, labels, priority, due date, assignee, and who is editing it (`editing`:
 * the names of the teammates who have its dialog open, e.g. "Ana, Ben"). Memoized: a card re-renders
 * only when its task, the org's lists, its editors or the day change.
 */
export const CardBody = memo(function CardBody({ task, context, editing }: { task: TaskJson; context: CardContext; editing?: string }) {
  const assignee = assigneeOf(task.assigneeId, context.members);
  const overdue = task.dueDate !== null && task.completedAt === null && task.dueDate < context.today;
  const labels = task.labelIds.map((id) => context.labels.get(id)).filter((label) => label !== undefined);
  return (
    <>
      {labels.length > 0 && (
        <span className="card-labels">
          {labels.map((label) => (
            <span key={label.id} className="label-chip" style={chipColours(label.color)}>
              {label.name}
            </span>
          ))}
        </span>
      )}
      <span className="card-title">{task.title}</span>
      {(task.priority > 0 || task.dueDate || task.description || assignee) && (
        <span className="card-meta">
          {task.priority > 0 && <span className={`priority priority-${task.priority}`}>{PRIORITIES[task.priority]}</span>}
          {task.dueDate && (
            <span className={`due${overdue ? ' due-overdue' : ''}`} title={overdue ? 'Overdue' : 'Due date'}>
              {overdue ? 'Overdue' : 'Due'} {formatDate(task.dueDate)}
            </span>
          )}
          {task.description && (
            <span className="has-description" title="Has a description" aria-label="Has a description">
              ≡
            </span>
          )}
          <span className="card-meta-end">{assignee && <Avatar id={assignee.id} name={assignee.name} size="sm" />}</span>
        </span>
      )}
      {editing && (
        <span className="editing" data-editing="true">
          ✎ {editing} editing
        </span>
      )}
    </>
  );
});

/**
 * A card as a screen reader names it: its title first, then what the card shows, in words
 * ("Write the spec, priority Medium, overdue: due 3 Mar, assigned to Ben, labels docs and ui, Ana
 * editing"); the card's own text read labels first and left the fields unnamed.
 */
export function cardName(task: TaskJson, context: CardContext, editing?: string): string {
  const parts = [task.title];
  if (task.priority > 0) parts.push(`priority ${PRIORITIES[task.priority]}`);
  if (task.dueDate) {
    const overdue = task.completedAt === null && task.dueDate < context.today;
    parts.push(`${overdue ? 'overdue: due' : 'due'} ${formatDate(task.dueDate)}`);
  }
  const assignee = assigneeOf(task.assigneeId, context.members);
  if (assignee) parts.push(`assigned to ${assignee.name}`);
  const labels = task.labelIds.flatMap((id) => context.labels.get(id)?.name ?? []);
  if (labels.length > 0) parts.push(`${labels.length === 1 ? 'label' : 'labels'} ${labels.join(', ')}`);
  if (task.description) parts.push('has a description');
  if (editing) parts.push(`${editing} editing`);
  return parts.join(', ');
}

/** `YYYY-MM-DD` as a short local date, e.g. "3 Mar". */
export function formatDate(date: string): string {
  const [year, month, day] = date.split('-').map(Number);
  const value = new Date(year!, month! - 1, day!);
  const sameYear = value.getFullYear() === new Date().getFullYear();
  return value.toLocaleDateString(undefined, { day: 'numeric', month: 'short', ...(sameYear ? {} : { year: 'numeric' }) });
}

import type { LabelJson, MemberJson, TaskJson, Viewer } from '../../../index.js';
import { Avatar } from '../common/Avatar.js';
import { PRIORITIES, today } from './board-view.js';

export interface CardContext {
  members: Map<string, MemberJson>;
  labels: Map<string, LabelJson>;
  /** Who (other than the user) has each task's dialog open. */
  editors: Map<string, Viewer[]>;
}

/** What a card shows: title, labels, priority, due date, assignee, and who is editing it. */
export function CardBody({ task, context }: { task: TaskJson; context: CardContext }) {
  const assignee = task.assigneeId ? context.members.get(task.assigneeId) : undefined;
  const editors = context.editors.get(task.id) ?? [];
  const overdue = task.dueDate !== null && task.completedAt === null && task.dueDate < today();
  const labels = task.labelIds.map((id) => context.labels.get(id)).filter((label) => label !== undefined);
  return (
    <>
      {labels.length > 0 && (
        <span className="card-labels">
          {labels.map((label) => (
            <span key={label.id} className="label-chip" style={{ background: label.color }}>
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
              Due {formatDate(task.dueDate)}
            </span>
          )}
          {task.description && (
            <span className="has-description" title="Has a description" aria-label="Has a description">
              ≡
            </span>
          )}
          <span className="card-meta-end">{assignee && <Avatar id={assignee.user.id} name={assignee.user.name} size="sm" />}</span>
        </span>
      )}
      {editors.length > 0 && (
        <span className="editing" data-editing="true">
          ✎ {editors.map((viewer) => viewer.name).join(', ')} editing
        </span>
      )}
    </>
  );
}

/** `YYYY-MM-DD` as a short local date, e.g. "3 Mar". */
export function formatDate(date: string): string {
  const [year, month, day] = date.split('-').map(Number);
  const value = new Date(year!, month! - 1, day!);
  const sameYear = value.getFullYear() === new Date().getFullYear();
  return value.toLocaleDateString(undefined, { day: 'numeric', month: 'short', ...(sameYear ? {} : { year: 'numeric' }) });
}

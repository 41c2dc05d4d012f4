import type { TaskPatch } from '../../../../shared/schemas.js';
import type { LabelJson, MemberJson, TaskJson } from '../../../index.js';
import { assigneeOf } from './assignee.js';
import { PRIORITIES } from './board-view.js';

/** The card dialog's fields as the form holds them (empty strings for "none"). */
export interface Draft {
  title: string;
  description: string;
  priority: number;
  assigneeId: string;
  dueDate: string;
  labelIds: string[];
}

export type DraftField = keyof Draft;

export function draftOf(task: TaskJson): Draft {
  return {
    title: task.title,
    description: task.description ?? '',
    priority: task.priority,
    assigneeId: task.assigneeId ?? '',
    dueDate: task.dueDate ?? '',
    labelIds: [...task.labelIds].sort(),
  };
}

/** The fields of `draft` that differ from `task`, as a `task:update` patch. */
export function patchOf(draft: Draft, task: TaskJson): TaskPatch {
  const from = draftOf(task);
  const patch: TaskPatch = {};
  if (draft.title.trim() !== from.title) patch.title = draft.title.trim();
  if (draft.description !== from.description) patch.description = draft.description === '' ? null : draft.description;
  if (draft.priority !== from.priority) patch.priority = draft.priority;
  if (draft.assigneeId !== from.assigneeId) patch.assigneeId = draft.assigneeId === '' ? null : draft.assigneeId;
  if (draft.dueDate !== from.dueDate) patch.dueDate = draft.dueDate === '' ? null : draft.dueDate;
  const labels = [...draft.labelIds].sort();
  if (labels.join() !== from.labelIds.join()) patch.labelIds = labels;
  return patch;
}

/**
 * The form moved onto `theirs`: their card, with the user's own changes (from `base`) on top,
 * except those in `dropping`.
 */
export function rebase(draft: Draft, base: TaskJson, theirs: TaskJson, dropping: readonly DraftField[]): Draft {
  const original = draftOf(base);
  const next = draftOf(theirs);
  for (const field of Object.keys(next) as DraftField[]) {
    const mine = field === 'labelIds' ? [...draft.labelIds].sort().join() !== original.labelIds.join() : draft[field] !== original[field];
    if (mine && !dropping.includes(field)) Object.assign(next, { [field]: draft[field] });
  }
  return next;
}

export const FIELD_NAMES: Record<DraftField, string> = {
  title: 'Title',
  description: 'Description',
  priority: 'Priority',
  assigneeId: 'Assignee',
  dueDate: 'Due date',
  labelIds: 'Labels',
};

/** A field's value as a person reads it. */
export function describeField(field: DraftField, draft: Draft, members: Map<string, MemberJson>, labels: Map<string, LabelJson>): string {
  switch (field) {
    case 'priority':
      return PRIORITIES[draft.priority] ?? String(draft.priority);
    case 'assigneeId':
      return assigneeOf(draft.assigneeId, members)?.name ?? 'Unassigned';
    case 'labelIds':
      return draft.labelIds.map((id) => labels.get(id)?.name ?? '?').join(', ') || 'None';
    default:
      return draft[field] || '(empty)';
  }
}

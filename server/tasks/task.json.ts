import type { TaskJson } from '../../shared/wire.js';
import type { ITask } from './task.entity.js';

export function toTaskJson(task: ITask): TaskJson {
  return {
    id: task.id,
    projectId: task.project.id,
    columnId: task.column.id,
    title: task.title,
    description: task.description ?? null,
    priority: task.priority,
    assigneeId: task.assignee?.id ?? null,
    dueDate: task.dueDate ?? null,
    position: task.position,
    version: task.version,
    labelIds: labelIdsOf(task),
    createdBy: task.createdBy?.id ?? null,
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
    completedAt: task.completedAt?.toISOString() ?? null,
  };
}

/**
 * The task's labels, which must have been loaded (`populate: ['taskLabels']`, or a task made in
 * this transaction): answering none for labels never read would wipe them from the task that is
 * broadcast and logged.
 */
function labelIdsOf(task: ITask): string[] {
  if (!task.taskLabels.isInitialized()) throw new Error("toTaskJson: the task's labels were not loaded");
  return task.taskLabels.map((link) => link.label.id).sort();
}

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
    labelIds: task.taskLabels.isInitialized() ? task.taskLabels.map((link) => link.label.id).sort() : [],
    createdBy: task.createdBy?.id ?? null,
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
    completedAt: task.completedAt?.toISOString() ?? null,
  };
}

import type { ColumnJson, ProjectJson } from '../../shared/wire.js';
import type { IColumn } from './column.entity.js';
import type { IProject } from './project.entity.js';

export function toProjectJson(project: IProject): ProjectJson {
  return {
    id: project.id,
    orgId: project.org.id,
    name: project.name,
    description: project.description ?? null,
    status: project.status,
    seq: project.seq,
  };
}

export function toColumnJson(column: IColumn): ColumnJson {
  return { id: column.id, projectId: column.project.id, name: column.name, position: column.position, isDone: column.isDone };
}

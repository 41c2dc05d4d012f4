import { generateNKeysBetween } from 'fractional-indexing';
import type { ColumnJson, ProjectJson } from '../../shared/wire.js';
import { type Principal } from '../auth/principal.js';
import { userRef } from '../users/user-ref.js';
import type { AppContext } from '../context.js';
import { withOrg } from '../orgs/org-scope.js';
import { Column } from './column.entity.js';
import { Project } from './project.entity.js';
import { toColumnJson, toProjectJson } from './project.json.js';

const DEFAULT_COLUMNS = [
  { name: 'To do', isDone: false },
  { name: 'In progress', isDone: false },
  { name: 'Done', isDone: true },
];

export async function createProject(
  ctx: AppContext,
  principal: Principal,
  slug: string,
  input: { name: string; description?: string },
): Promise<{ project: ProjectJson; columns: ColumnJson[] }> {
  const created = await withOrg(ctx, principal, slug, 'projects:write', async ({ em, org }) => {
    const project = em.create(Project, {
      org,
      name: input.name,
      description: input.description ?? null,
      createdBy: userRef(em, principal),
    });
    const positions = generateNKeysBetween(null, null, DEFAULT_COLUMNS.length);
    const columns = DEFAULT_COLUMNS.map((column, i) =>
      em.create(Column, { org, project, name: column.name, isDone: column.isDone, position: positions[i]! }),
    );
    await em.flush();
    return { project: toProjectJson(project), columns: columns.map(toColumnJson) };
  });
  ctx.broadcaster.orgEvent(created.project.orgId, 'project.created', { project: created.project });
  return created;
}

export function listProjects(ctx: AppContext, principal: Principal, slug: string): Promise<ProjectJson[]> {
  return withOrg(ctx, principal, slug, 'board:read', async ({ em }) => {
    const projects = await em.find(Project, {}, { orderBy: { createdAt: 'asc' } });
    return projects.map(toProjectJson);
  });
}

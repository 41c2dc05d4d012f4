import type { EntityManager } from '@mikro-orm/postgresql';
import { generateNKeysBetween } from 'fractional-indexing';
import type { BoardSnapshot, ColumnJson, ProjectJson } from '../../shared/wire.js';
import type { Principal } from '../auth/principal.js';
import { projectTarget } from '../board/board-target.js';
import type { AppContext } from '../context.js';
import { inTenant } from '../db/tenant.js';
import { notFound } from '../errors.js';
import { authorize } from '../orgs/access.js';
import { withOrg } from '../orgs/org-scope.js';
import { Task } from '../tasks/task.entity.js';
import { toTaskJson } from '../tasks/task.json.js';
import { User } from '../users/user.entity.js';
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
      createdBy: em.getReference(User, principal.userId),
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

/**
 * The board as it is now, for a reader of its org. `onAuthorized` runs once the role is checked
 * and before anything is read: a socket joins the board's room there, so no event committed
 * after the snapshot can pass it by.
 */
export async function readBoard(
  ctx: AppContext,
  principal: Principal,
  projectId: string,
  options: { scopeOrgId?: string; onAuthorized?: (orgId: string) => void } = {},
): Promise<BoardSnapshot & { orgId: string }> {
  const target = await projectTarget(ctx, projectId, options.scopeOrgId);
  return inTenant(ctx.orm, target.orgId, async (em) => {
    await authorize(em, principal, 'board:read', target.outsider);
    if (!target.projectId) throw notFound('project');
    options.onAuthorized?.(target.orgId);
    return { ...(await snapshot(em, target.projectId)), orgId: target.orgId };
  });
}

/**
 * Reads `seq` first, then the rows: every event numbered after it is either already in the rows
 * or still to be broadcast, and events carry whole objects, so applying one twice is harmless.
 */
async function snapshot(em: EntityManager, projectId: string): Promise<BoardSnapshot> {
  const project = await em.findOne(Project, projectId);
  if (!project) throw notFound('project');
  const columns = await em.find(Column, { project: projectId });
  const tasks = await em.find(Task, { project: projectId });
  columns.sort((a, b) => compareKeys(a.position, b.position));
  tasks.sort((a, b) => compareKeys(a.position, b.position));
  return { project: toProjectJson(project), columns: columns.map(toColumnJson), tasks: tasks.map(toTaskJson), seq: project.seq };
}

/** Fractional keys compare as plain byte strings. */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

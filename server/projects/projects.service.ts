import { generateNKeysBetween } from 'fractional-indexing';
import type { ColumnJson, ProjectJson } from '../../shared/wire.js';
import { audit } from '../audit/audit.service.js';
import type { Caller } from '../auth/caller.js';
import { commitBoardChange } from '../board/board-change.js';
import type { AppContext } from '../context.js';
import { DomainError, notFound } from '../errors.js';
import { withOrg } from '../orgs/org-scope.js';
import { userRef } from '../users/user-ref.js';
import { Column } from './column.entity.js';
import { Project } from './project.entity.js';
import { toColumnJson, toProjectJson } from './project.json.js';

const DEFAULT_COLUMNS = [
  { name: 'To do', isDone: false },
  { name: 'In progress', isDone: false },
  { name: 'Done', isDone: true },
];

/** A new board with the columns "To do", "In progress" and "Done" (the done one). */
export async function createProject(
  ctx: AppContext,
  caller: Caller,
  slug: string,
  input: { name: string; description?: string | null },
): Promise<{ project: ProjectJson; columns: ColumnJson[] }> {
  const created = await withOrg(ctx, caller.principal, slug, 'projects:write', async ({ em, org }) => {
    const project = em.create(Project, {
      org,
      name: input.name,
      description: input.description ?? null,
      createdBy: userRef(em, caller.principal),
    });
    const positions = generateNKeysBetween(null, null, DEFAULT_COLUMNS.length);
    const columns = DEFAULT_COLUMNS.map((column, i) =>
      em.create(Column, { org, project, name: column.name, isDone: column.isDone, position: positions[i]! }),
    );
    await em.flush();
    audit(em, org.id, caller, 'project.created', { type: 'project', id: project.id }, { name: project.name });
    return { project: toProjectJson(project), columns: columns.map(toColumnJson) };
  });
  ctx.broadcaster.orgEvent(created.project.orgId, 'project.created', { project: created.project });
  return created;
}

export function listProjects(ctx: AppContext, caller: Caller, slug: string): Promise<ProjectJson[]> {
  return withOrg(ctx, caller.principal, slug, 'board:read', async ({ em }) => {
    const projects = await em.find(Project, {}, { orderBy: { createdAt: 'asc' } });
    return projects.map(toProjectJson);
  });
}

export interface ProjectChanges {
  name?: string;
  description?: string | null;
  status?: 'active' | 'archived';
}

/**
 * Renames, describes, archives or unarchives a board: a `project.updated` board event, and
 * `org:event` `project.archived` when it is archived. An archived board refuses every other change,
 * a rename or a new description too, unless the same update unarchives it.
 */
export async function updateProject(ctx: AppContext, caller: Caller, projectId: string, changes: ProjectChanges): Promise<ProjectJson> {
  const target = await ctx.locator.target('project', projectId, caller.scopeOrgId);
  let archived = false;
  const result = await commitBoardChange(
    ctx,
    { principal: caller.principal, target, type: 'project.updated', capability: 'projects:write', allowArchived: true, sender: caller },
    async (em, id) => {
      const project = await em.findOne(Project, id);
      if (!project) throw notFound('project');
      const changed = (Object.keys(changes) as Array<keyof ProjectChanges>).filter(
        (key) => changes[key] !== undefined && changes[key] !== project[key],
      );
      // Read after this change took the board's next seq, which it gives back: the board's seq is the one before.
      if (changed.length === 0) return { unchanged: { ...toProjectJson(project), seq: project.seq - 1 } };
      if (project.status === 'archived' && changes.status !== 'active') throw new DomainError('FORBIDDEN', 'the project is archived');
      if (changes.name !== undefined) project.name = changes.name;
      if (changes.description !== undefined) project.description = changes.description;
      if (changes.status !== undefined) project.status = changes.status;
      archived = changes.status === 'archived' && changed.includes('status');
      const action = archived ? 'project.archived' : 'project.updated';
      audit(em, target.orgId, caller, action, { type: 'project', id: project.id }, { changed });
      return { data: { project: toProjectJson(project) } }; // read after the seq was taken, so it is the event's
    },
  );
  if (!result.event) return result.unchanged as ProjectJson;
  const project = (result.event.data as { project: ProjectJson }).project;
  if (archived) ctx.broadcaster.orgEvent(target.orgId, 'project.archived', { project });
  return project;
}

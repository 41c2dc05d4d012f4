import type { AppContext } from '../context.js';
import { notAMember, notFound } from '../errors.js';
import type { BoardTarget } from './board-change.js';

/**
 * Finds which org a project or task belongs to, so that the change can run inside that tenant.
 * These are the only reads outside a tenant on the board path: they return ids and nothing else,
 * and the tenant transaction that follows checks membership before anything is shown or changed.
 *
 * `scopeOrgId` is the org named by an HTTP route's slug: there the membership check answers 403,
 * and an id of another org reads as not found. Without it (sockets) every refusal is 404, so an
 * id reveals nothing about whether it exists.
 */
export async function projectTarget(ctx: AppContext, projectId: string, scopeOrgId?: string): Promise<BoardTarget> {
  const rows = await ctx.orm.em.getConnection().execute<Array<{ org_id: string }>>('select org_id from projects where id = ?', [projectId]);
  return target(rows[0]?.org_id, projectId, scopeOrgId, 'project');
}

export async function columnTarget(ctx: AppContext, columnId: string, scopeOrgId?: string): Promise<BoardTarget> {
  const rows = await ctx.orm.em
    .getConnection()
    .execute<Array<{ org_id: string; project_id: string }>>('select org_id, project_id from board_columns where id = ?', [columnId]);
  return target(rows[0]?.org_id, rows[0]?.project_id, scopeOrgId, 'column');
}

export async function taskTarget(ctx: AppContext, taskId: string, scopeOrgId?: string): Promise<BoardTarget> {
  const rows = await ctx.orm.em
    .getConnection()
    .execute<Array<{ org_id: string; project_id: string }>>('select org_id, project_id from tasks where id = ?', [taskId]);
  return target(rows[0]?.org_id, rows[0]?.project_id, scopeOrgId, 'task');
}

function target(orgId: string | undefined, projectId: string | undefined, scopeOrgId: string | undefined, what: string): BoardTarget {
  if (scopeOrgId) return { orgId: scopeOrgId, projectId: orgId === scopeOrgId ? projectId! : null, outsider: notAMember(), what };
  if (!orgId || !projectId) throw notFound(what);
  return { orgId, projectId, outsider: notFound(what), what };
}

import type { EntityManager } from '@mikro-orm/postgresql';
import type { BoardJoinData } from '../../shared/events.js';
import type { BoardSnapshot, ColumnJson, ProjectJson } from '../../shared/wire.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { inTenant } from '../db/tenant.js';
import { notFound } from '../errors.js';
import { authorize } from '../orgs/access.js';
import { TASK_COLUMNS, type TaskRow, taskJsonOf } from '../tasks/task-row.js';
import { BoardEvent } from './board-event.entity.js';
import { toBoardEventJson } from './board-event.json.js';

/** A replay longer than this answers the snapshot instead, which is then cheaper to send. */
export const MAX_REPLAY = 1000;

export interface ReadBoardOptions {
  /** The org of an HTTP route's slug (see `BoardLocator`). */
  scopeOrgId?: string;
  /** The last `seq` the client holds: answer the events after it, where the log still has them. */
  sinceSeq?: number;
  /** Runs once the role is checked and before anything is read: a socket joins the board's room there. */
  onAuthorized?: (orgId: string) => void;
}

/**
 * The board for a reader of its org: the events after `sinceSeq` where the log still holds them
 * all, or else the snapshot. `seq` is read before the rows: every event numbered after it is
 * either already in the rows or still to be broadcast, and events carry whole objects, so
 * applying one twice is harmless.
 */
export async function readBoard(
  ctx: AppContext,
  principal: Principal,
  projectId: string,
  options: ReadBoardOptions = {},
): Promise<{ orgId: string; board: BoardJoinData }> {
  const target = await ctx.locator.target('project', projectId, options.scopeOrgId);
  return inTenant(
    ctx.orm,
    target.orgId,
    async (em, standing) => {
      authorize(standing, principal, target.orgId, 'board:read', target.outsider);
      if (!target.projectId) throw notFound(target.what);
      options.onAuthorized?.(target.orgId);
      const [project] = await em.execute<ProjectJson[]>(
        `select id, org_id as "orgId", name, description, status, seq from projects where id = ? and org_id = ?`,
        [target.projectId, target.orgId],
      );
      if (!project) throw notFound('project');
      const replay = options.sinceSeq === undefined ? null : await eventsSince(em, project.id, options.sinceSeq, project.seq);
      return { orgId: target.orgId, board: replay ?? (await snapshot(em, project)) };
    },
    principal,
  );
}

async function eventsSince(em: EntityManager, projectId: string, sinceSeq: number, seq: number): Promise<BoardJoinData | null> {
  if (sinceSeq > seq || seq - sinceSeq > MAX_REPLAY) return null;
  if (sinceSeq === seq) return { events: [], seq };
  const events = await em.find(BoardEvent, { project: projectId, seq: { $gt: sinceSeq, $lte: seq } }, { orderBy: { seq: 'asc' } });
  if (events.length !== seq - sinceSeq) return null; // pruned: the log no longer reaches back
  return { events: events.map(toBoardEventJson), seq };
}

/**
 * The board's columns and tasks, read as plain rows in byte order of position (no entities: a
 * 1,000-task board is read, not managed). The queries name the org as the tenant filter would,
 * and row-level security holds them too.
 */
async function snapshot(em: EntityManager, project: ProjectJson): Promise<BoardSnapshot> {
  const columns = await em.execute<ColumnJson[]>(
    `select id, project_id as "projectId", name, position, is_done as "isDone"
       from board_columns where project_id = ? and org_id = ? order by position collate "C"`,
    [project.id, project.orgId],
  );
  const tasks = await em.execute<TaskRow[]>(
    `select ${TASK_COLUMNS} from tasks t where t.project_id = ? and t.org_id = ? order by t.position collate "C"`,
    [project.id, project.orgId],
  );
  return { project, columns, tasks: tasks.map(taskJsonOf), seq: project.seq };
}

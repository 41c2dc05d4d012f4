import { LRUCache } from 'lru-cache';
import type { AppContext } from '../context.js';
import { runPlain, type Sql, sql } from '../db/sql-script.js';
import { notAMember, notFound } from '../errors.js';
import { Lanes } from '../lanes.js';
import type { BoardTarget } from './board-change.js';

/** How many of a node's lookups read the database at once (`BoardLocator.lookups`). */
const LOOKUPS_AT_ONCE = 2;

/** Where a row lives: its org and board. Neither ever changes for a row, so it can be cached. */
interface Location {
  orgId: string;
  projectId: string;
}

const LOOKUPS = {
  project: (id: string) => sql`select org_id, id as project_id from projects where id = ${id}`,
  column: (id: string) => sql`select org_id, project_id from board_columns where id = ${id}`,
  task: (id: string) => sql`select org_id, project_id from tasks where id = ${id}`,
} as const;

export type Addressable = keyof typeof LOOKUPS;

/** Where a deleted column or task was: the board whose log holds the event that deleted it. */
const DELETIONS: Partial<Record<Addressable, (id: string) => Sql>> = {
  column: (id) => sql`select org_id, project_id from board_events where type = 'column.deleted' and payload -> 'column' ->> 'id' = ${id}`,
  task: (id) => sql`select org_id, project_id from board_events where type = 'task.deleted' and payload ->> 'taskId' = ${id}`,
};

/**
 * Finds which org and board a project, column or task belongs to, so that the change can run
 * inside that tenant. These are the only reads outside a tenant on the board path: they return
 * ids and nothing else, and the tenant transaction that follows checks membership before anything
 * is shown or changed. An id's org and board never change, so found locations are remembered.
 *
 * A row that is gone is found where the board's log says it was deleted (while the log keeps
 * that event), so that a retry of a change whose row is gone since, a delete above all, reaches
 * the board whose log answers it with the original result, on any node and after a restart.
 * Anything else sent for it then finds no row: the NOT_FOUND the transaction gives for any
 * deleted row, and for another org's ids, as the outsider's refusal.
 *
 * `scopeOrgId` is the org named by an HTTP route's slug: there the membership check answers 403,
 * and an id of another org reads as not found. Without it (sockets) every refusal is 404, so an
 * id reveals nothing about whether it exists.
 */
export class BoardLocator {
  private readonly known = new LRUCache<string, Location>({ max: 100_000 });
  /** The lookups under way, by row: changes of one row that come together share its lookup. */
  private readonly finding = new Map<string, Promise<Location | undefined>>();
  /**
   * Lookups read the database `LOOKUPS_AT_ONCE` at a time, the rest waiting without a connection:
   * they come before a change takes its board's turn, so with the tasks table locked (a migration's
   * `ALTER TABLE`, a `VACUUM FULL`) changes of new rows would each hold a pooled connection while
   * they wait (the fault review: twelve changes of one board took all ten, and with them every
   * tenant's logins and handshakes).
   */
  private readonly lookups = new Lanes(LOOKUPS_AT_ONCE);

  constructor(private readonly ctx: Pick<AppContext, 'orm'>) {}

  async target(what: Addressable, id: string, scopeOrgId?: string): Promise<BoardTarget> {
    const location = await this.locate(what, id);
    if (scopeOrgId) {
      const projectId = location?.orgId === scopeOrgId ? location.projectId : null;
      return { orgId: scopeOrgId, projectId, outsider: notAMember, what };
    }
    if (!location) throw notFound(what);
    return { ...location, outsider: () => notFound(what), what };
  }

  private async locate(what: Addressable, id: string): Promise<Location | undefined> {
    const key = `${what}:${id}`;
    const cached = this.known.get(key) ?? this.finding.get(key);
    if (cached) return cached;
    const finding = this.lookups.run('lookups', async () => {
      const deleted = DELETIONS[what];
      const location = (await this.read(LOOKUPS[what](id))) ?? (deleted && (await this.read(deleted(id))));
      if (location) this.known.set(key, location);
      return location;
    });
    this.finding.set(key, finding);
    try {
      return await finding;
    } finally {
      this.finding.delete(key);
    }
  }

  private async read(statement: Sql): Promise<Location | undefined> {
    const [row] = await runPlain<{ org_id: string; project_id: string }>(this.ctx.orm, statement);
    return row && { orgId: row.org_id, projectId: row.project_id };
  }
}

import type { EntityManager } from '@mikro-orm/postgresql';
import { inStorableYears } from '../../shared/schemas.js';
import type { AuditAction, AuditEntryJson } from '../../shared/wire.js';
import type { Caller } from '../auth/caller.js';
import { actorOf } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { invalid } from '../errors.js';
import { withOrg } from '../orgs/org-scope.js';
import { Organization } from '../orgs/organization.entity.js';
import { AuditLog, type IAuditLog } from './audit-log.entity.js';

/** Writes an audit entry in the caller's transaction, so it commits with the action or not at all. */
export function audit(
  em: EntityManager,
  orgId: string,
  caller: Caller,
  action: AuditAction,
  entity: { type: string; id?: string | null },
  details: Record<string, unknown> = {},
): void {
  em.create(AuditLog, {
    org: em.getReference(Organization, orgId),
    actor: actorOf(caller.principal),
    action,
    entityType: entity.type,
    entityId: entity.id ?? null,
    details,
    ip: caller.ip ?? null,
    userAgent: caller.userAgent ?? null,
  });
}

export interface AuditQuery {
  action?: AuditAction;
  userId?: string;
  since?: string;
  limit: number;
  cursor?: string;
}

/** The org's audit log, newest first, `limit` at a time; `nextCursor` fetches the page after. */
export function listAuditLog(
  ctx: AppContext,
  caller: Caller,
  slug: string,
  query: AuditQuery,
): Promise<{ entries: AuditEntryJson[]; nextCursor: string | null }> {
  return withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em }) => {
    const where: Record<string, unknown> = {};
    if (query.action) where.action = query.action;
    if (query.userId) where.actor = { id: query.userId };
    if (query.since) where.createdAt = { $gte: new Date(query.since) };
    if (query.cursor) {
      const { at, id } = decodeCursor(query.cursor);
      where.$or = [{ createdAt: { $lt: at } }, { createdAt: at, id: { $lt: id } }];
    }
    const rows = await em.find(AuditLog, where, { orderBy: { createdAt: 'desc', id: 'desc' }, limit: query.limit + 1 });
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return { entries: page.map(toAuditEntryJson), nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
  });
}

function toAuditEntryJson(entry: IAuditLog): AuditEntryJson {
  return {
    id: entry.id,
    actor: entry.actor,
    action: entry.action,
    entityType: entry.entityType,
    entityId: entry.entityId ?? null,
    details: entry.details,
    ip: entry.ip ?? null,
    userAgent: entry.userAgent ?? null,
    createdAt: entry.createdAt.toISOString(),
  };
}

function encodeCursor(entry: IAuditLog): string {
  return Buffer.from(`${entry.createdAt.toISOString()}|${entry.id}`).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A cursor `encodeCursor` made, exactly (an ISO time as `toISOString` writes it, in the years PostgreSQL stores, and a UUID); anything else is refused. */
function decodeCursor(cursor: string): { at: Date; id: string } {
  const parts = Buffer.from(cursor, 'base64url').toString().split('|');
  const [at, id] = parts;
  const date = new Date(at ?? '');
  const exact = parts.length === 2 && inStorableYears(date.getTime()) && date.toISOString() === at && UUID.test(id ?? '');
  if (!exact || Buffer.from(`${at}|${id}`).toString('base64url') !== cursor) throw invalid('the cursor is not one this server gave');
  return { at: date, id: id! };
}

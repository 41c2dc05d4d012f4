import type { EntityManager } from '@mikro-orm/postgresql';
import { type ApiKeyPermission, type Capability, KEY_PERMISSION, ROLES, type Role, roleCan } from '../../shared/roles.js';
import type { Principal, UserPrincipal } from '../auth/principal.js';
import type { Orm } from './orm.js';
import { runPlain, type Sql, sql, withScriptConnection } from './sql-script.js';

/** An API key as its standing reads it: revoked, or past its `expiresAt` (not revoked). */
interface ApiKeyStanding {
  revoked: boolean;
  expired: boolean;
  permissions: ApiKeyPermission[];
}

/** What the database says of a principal in an org, read as the tenant transaction opens. */
export type Standing =
  { kind: 'user'; role: Role | null; sessionEnded: boolean } | { kind: 'bot'; key: ApiKeyStanding | null } | { kind: 'none' };

// The standing is read as the connecting role, before the switch to `taskflow_app`, and names
// the org itself rather than leaning on row-level security.
/** Of an `api_keys` row: revoked; past its `expiresAt`; neither (what lets it in). */
const KEY_REVOKED = sql`revoked_at is not null`;
const KEY_EXPIRED = sql`coalesce(expires_at <= now(), false)`;
export const LIVE_KEY = sql`not ${KEY_REVOKED} and not ${KEY_EXPIRED}`;

/** A standing's row held until commit (`inTenant`'s `held`). */
const HOLD = sql`for share`;

/** The user's role in the org, null for a non-member; `held`: their membership's row share-locked until commit. */
function roleIn(orgId: string, userId: string, held = false): Sql {
  return sql`(select role from memberships where org_id = ${orgId} and user_id = ${userId} ${held ? HOLD : sql``})`;
}

/**
 * Whether the user's session is still the one their token was signed in (not ended since:
 * `account.service.ts`); `held`: the user's row share-locked until commit.
 */
function sessionStands(principal: UserPrincipal, held = false): Sql {
  return sql`exists (select 1 from users where id = ${principal.userId} and session_version = ${principal.sessionVersion} ${held ? HOLD : sql``})`;
}

/** The principal's standing in the org, as a select list for `standingOf`; `held` as `roleIn`'s. */
function standingColumn(orgId: string, principal: Principal, held = false): Sql {
  if (principal.kind === 'user')
    return sql`${roleIn(orgId, principal.userId, held)} as role, not ${sessionStands(principal, held)} as "sessionEnded"`;
  return sql`(select json_build_object('revoked', ${KEY_REVOKED}, 'expired', ${KEY_EXPIRED}, 'permissions', permissions)
      from api_keys where org_id = ${orgId} and id = ${principal.keyId}) as key`;
}

/** The select list that enters the org for the rest of the transaction, as `taskflow_app`. */
function entering(orgId: string): Sql {
  return sql`set_config('role', 'taskflow_app', true), set_config('app.org_id', ${orgId}, true)`;
}

/** The statement that enters the org (`entering`). */
export function enterTenant(orgId: string): Sql {
  return sql`select ${entering(orgId)}`;
}

/**
 * `enterTenant` for a board's message of quick changes (`quickBoardChange`), which also has the
 * transaction's statements planned for index scans wherever an index serves. PostgreSQL plans a
 * prepared statement once for all values from its sixth run on (a generic plan), for the table
 * sizes of that moment, and keeps the plan on that connection until the table's statistics
 * change: one made while the event log was a few pages read the whole log, for every change of a
 * board, once the log had grown (40 ms a message after 40,000 events; a database without
 * autovacuum never corrected it).
 */
export function enterBoardTenant(orgId: string): Sql {
  return sql`select ${entering(orgId)}, set_config('enable_seqscan', 'off', true)`;
}

/** The statement that opens a tenant transaction on the ORM's connection, reading the standing first (`held`: see `inTenant`). */
function openTenant(orgId: string, principal?: Principal, held = false): Sql {
  if (!principal) return enterTenant(orgId);
  return sql`select ${standingColumn(orgId, principal, held)}, ${entering(orgId)}`;
}

/** The principal's standing, from the row of a statement that selected `standingColumn`. */
function standingOf(row: Record<string, unknown> | undefined, principal?: Principal): Standing {
  if (!principal) return { kind: 'none' };
  if (principal.kind === 'user')
    return { kind: 'user', role: (row?.role as Role | null | undefined) ?? null, sessionEnded: row?.sessionEnded === true };
  return { kind: 'bot', key: (row?.key as ApiKeyStanding | null | undefined) ?? null };
}

/**
 * A condition that holds when the principal, in the org, has `capability`: what `authorize`
 * decides, for a statement that must not write otherwise. `authorize` still gives the refusal.
 */
export function holds(principal: Principal, orgId: string, capability: Capability): Sql {
  if (principal.kind === 'user') {
    const roles = ROLES.filter((role) => roleCan(role, capability));
    return sql`${roleIn(orgId, principal.userId)} = any(${roles}) and ${sessionStands(principal)}`;
  }
  const needed = KEY_PERMISSION[capability];
  if (!needed || principal.orgId !== orgId) return sql`false`;
  return sql`exists (select 1 from api_keys where org_id = ${orgId} and id = ${principal.keyId} and ${LIVE_KEY}
      and permissions @> ${JSON.stringify([needed])}::jsonb)`;
}

/**
 * Runs `work` in one transaction inside one org: a fresh EntityManager fork with the `tenant`
 * filter set, and, in the database, the `taskflow_app` role with `app.org_id`, so that row-level
 * security hides every other org even from a query that skips the filter. With a principal,
 * `work` also gets its standing in the org (membership role, or API key), read fresh. With
 * `held`, a user's membership and account rows stay share-locked until commit: a removal, a role
 * change or the end of their sessions waits for `work`, and one that came first is read by it (an
 * admin's invitation must commit before their removal, which revokes it, or read the removal and
 * be refused).
 */
export async function inTenant<T>(
  orm: Orm,
  orgId: string,
  work: (em: EntityManager, standing: Standing) => Promise<T>,
  principal?: Principal,
  held = false,
): Promise<T> {
  const em = orm.em.fork({ clear: true });
  em.setFilterParams('tenant', { orgId });
  return em.transactional(async (tx) => {
    const [row] = await tx.execute<Array<Record<string, unknown>>>(...openTenant(orgId, principal, held).bound());
    return work(tx, standingOf(row, principal));
  });
}

/**
 * The principal's standing read again inside a tenant transaction, by a statement of its own: what
 * it is now, after the transaction waited (for a board's lock, say), not what it was as it opened.
 */
export async function standingNow(em: EntityManager, orgId: string, principal: Principal): Promise<Standing> {
  const [row] = await em.execute<Array<Record<string, unknown>>>(...sql`select ${standingColumn(orgId, principal)}`.bound());
  return standingOf(row, principal);
}

/** The principal's standing in the org, read on its own (outside any tenant, as the connecting role). */
export async function standingIn(orm: Orm, orgId: string, principal: Principal): Promise<Standing> {
  const [row] = await runPlain<Record<string, unknown>>(orm, sql`select ${standingColumn(orgId, principal)}`);
  return standingOf(row, principal);
}

/** One statement of a read, and what to make of its rows. */
export interface TenantRead<T> {
  statement: Sql;
  read(rows: Array<Record<string, unknown>>): T;
}

/**
 * A read inside one org, as `inTenant` would run it, for a read of one statement: `prepare`
 * checks the principal's standing (throwing to refuse) and names the statement. On PostgreSQL
 * that is two round trips instead of four: one opens the tenant transaction and reads the
 * standing, one runs the statement and commits.
 */
export async function readInTenant<T>(
  orm: Orm,
  orgId: string,
  principal: Principal,
  prepare: (standing: Standing) => TenantRead<T>,
): Promise<T> {
  const quick = await withScriptConnection(orm, async (db) => {
    // The standing and the switch are two statements here: prepared, a statement that read a
    // table under row-level security and switched the role itself would be planned anew on every
    // run, as PostgreSQL re-plans such a statement whenever the role it runs as has changed.
    const [, [opened]] = await db.run(sql`begin`, sql`select ${standingColumn(orgId, principal)}`, enterTenant(orgId));
    const { statement, read } = prepare(standingOf(opened, principal));
    const [rows] = await db.run(statement, sql`commit`);
    return { value: read(rows!) };
  });
  if (quick) return quick.value;
  return inTenant(
    orm,
    orgId,
    async (em, standing) => {
      const { statement, read } = prepare(standing);
      return read(await em.execute(...statement.bound()));
    },
    principal,
  );
}

/**
 * A one-statement read inside one org for a caller whose standing was checked before: on
 * PostgreSQL one round trip, which enters the org and reads (PostgreSQL runs the message as one
 * transaction).
 */
export async function readAsTenant<T>(orm: Orm, orgId: string, { statement, read }: TenantRead<T>): Promise<T> {
  const rows = await withScriptConnection(orm, async (db) => (await db.run(enterTenant(orgId), statement))[1]!);
  return read(rows ?? (await inTenant(orm, orgId, (em) => em.execute(...statement.bound()))));
}

/** A fork for identity work outside any tenant (users, logins, the org directory). */
export function identityEm(orm: Orm): EntityManager {
  return orm.em.fork({ clear: true });
}

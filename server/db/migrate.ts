import { setTimeout } from 'node:timers/promises';
import { migrationsList } from '../../migrations/index.js';
import { ConfigError } from '../config.js';
import { sqlState } from '../errors.js';
import { type Orm, requireDatabase } from './orm.js';
import { sql, withScriptConnection } from './sql-script.js';
import { enterTenant } from './tenant.js';

/** The class of the advisory lock that migrations run under, apart from any other advisory lock. */
const MIGRATIONS = 7_400;

/**
 * Brings the schema up to date, one node at a time: nodes started together on one database (a
 * first deployment, or a deploy that brings a migration) queue on an advisory lock, held by a
 * connection of their own while the migrator runs, and each after the first finds nothing
 * pending. Without it they ran the same migrations at once, and all but one died on a duplicate
 * table. The embedded database needs no lock: one process holds its data folder. The role of
 * DATABASE_URL is checked before and after (`requireRowLevelBypass`, `requireTenantRole`). Answers the names of the migrations
 * this node applied.
 */
export async function migrate(orm: Orm, databaseUrl: string | null, log?: MigrationLog): Promise<string[]> {
  await requireDatabase(orm, databaseUrl);
  await requireRowLevelBypass(orm);
  const applied = await migrateInTurn(orm, log);
  await requireTenantRole(orm); // the migrations make the role, and grant it where they may
  return applied;
}

async function migrateInTurn(orm: Orm, log?: MigrationLog): Promise<string[]> {
  try {
    const ran = await withScriptConnection(orm, async (connection) => {
      await connection.run(sql`select pg_advisory_lock(${MIGRATIONS}, 0)`);
      try {
        return await upWithinLockTimeouts(orm, log);
      } finally {
        await connection.run(sql`select pg_advisory_unlock(${MIGRATIONS}, 0)`);
      }
    });
    return (ran ?? (await upWithinLockTimeouts(orm, log))).map((migration) => migration.name);
  } catch (error) {
    if (sqlState(error) !== INSUFFICIENT_PRIVILEGE) throw error;
    throw new ConfigError(
      `the role of DATABASE_URL cannot migrate the database (${postgresMessage(error)}): it must own the database and its public schema, or be a superuser, and a role that may not create roles needs taskflow_app made for it first (README, "The database role")`,
    );
  }
}

/**
 * Stops start-up with one line when the role of DATABASE_URL lacks what its work needs beyond the
 * migrations (README, "The database role"): the reads outside any tenant (sign-in, `/me`, an org's
 * slug) bypass row-level security, and tenant work sets the role `taskflow_app`. A node that could
 * do neither started and answered ready all the same: without the first, a new org was invisible
 * to its owner (its memberships read empty); without the second, every tenant request failed, 500.
 */
async function requireRowLevelBypass(orm: Orm): Promise<void> {
  const [role] = await orm.em
    .getConnection()
    .execute<Array<{ name: string; bypasses: boolean }>>(
      `select current_user as name, rolsuper or rolbypassrls as bypasses from pg_roles where rolname = current_user`,
    );
  if (!role?.bypasses) throw roleRefusal(role?.name, 'bypasses row-level security', `ALTER ROLE "${role?.name}" BYPASSRLS`);
}

/**
 * See `requireRowLevelBypass`. Tried, as tenant work enters it (`enterTenant`, an org of none), not
 * looked up: a membership granted without PostgreSQL 16's SET option passes `pg_has_role`.
 */
async function requireTenantRole(orm: Orm): Promise<void> {
  const refused = await orm.em
    .fork()
    .transactional((em) => em.execute(...enterTenant(NO_ORG).bound()))
    .then(
      () => null,
      (error: unknown) => {
        const code = sqlState(error);
        if (code === INSUFFICIENT_PRIVILEGE || code === UNDEFINED_OBJECT) return code;
        throw error;
      },
    );
  if (refused === null) return;
  const [{ name } = { name: undefined }] = await orm.em.getConnection().execute<Array<{ name: string }>>('select current_user as name');
  const grant = `GRANT taskflow_app TO "${name}"`;
  throw roleRefusal(
    name,
    'may set role taskflow_app',
    refused === UNDEFINED_OBJECT ? `CREATE ROLE taskflow_app NOLOGIN NOINHERIT, then ${grant}` : grant,
  );
}

function roleRefusal(name: string | undefined, what: string, remedy: string): ConfigError {
  return new ConfigError(`the role of DATABASE_URL (${name}) must be one that ${what}: ${remedy} (README, "The database role")`);
}

/** The org the tenant role's check enters: none has this id. */
const NO_ORG = '00000000-0000-0000-0000-000000000000';

/** PostgreSQL's SQLSTATE for a role (or other object) that does not exist. */
const UNDEFINED_OBJECT = '42704';

/** PostgreSQL's SQLSTATE for a statement its role may not run. */
const INSUFFICIENT_PRIVILEGE = '42501';

/** PostgreSQL's own words, without the statement MikroORM puts before them (`<sql> - <message>`). */
function postgresMessage(error: unknown): string {
  let cause = error as { message?: unknown; cause?: unknown } | undefined;
  while (cause?.cause && typeof (cause.cause as { code?: unknown }).code === 'string') cause = cause.cause as typeof cause;
  return String(cause?.message ?? error)
    .split('\n')[0]!
    .split(' - ')
    .at(-1)!;
}

export interface MigrationLog {
  warn(details: object, message: string): void;
}

/** How many times a migration is tried that could not take its locks in time (`migrations/index.ts`). */
const TRIES = 3;
/** SQLSTATEs of a migration that waited too long for a lock, or deadlocked with another session. */
const LOCK_FAILURES = new Set(['55P03', '40P01']);

/**
 * The pending migrations, each in a transaction of its own: one that could not take its tables'
 * locks within the lock timeout, or deadlocked, is tried again a second later, up to `TRIES`
 * times, and then stops start-up with one line (the migrations before it stay applied).
 */
async function upWithinLockTimeouts(orm: Orm, log?: MigrationLog): Promise<Array<{ name: string }>> {
  await refuseNewerSchema(orm);
  const pending = await orm.migrator.getPendingMigrations(); // under the advisory lock, no other node applies them
  for (let tried = 1; ; tried++) {
    try {
      await orm.migrator.up();
      return pending;
    } catch (error) {
      const code = sqlState(error);
      if (!code || !LOCK_FAILURES.has(code)) throw error;
      const migration = (error as { migration?: { name?: string } }).migration?.name;
      const what = code === '40P01' ? 'deadlocked with another session' : 'waited too long for a lock on its tables';
      if (tried === TRIES)
        throw new ConfigError(
          `migration ${migration} ${what}, ${TRIES} times: another session holds its tables (a node of the old build still running, a long transaction); stop it and start again`,
        );
      log?.warn({ migration, tried }, `migration ${what}; trying again`);
      await setTimeout(1000);
    }
  }
}

/**
 * Stops start-up with one line when the database holds migrations this build does not know: a
 * newer build migrated it, and this one (a rollback) would not honour what they added. A rollback
 * to a build from before ended sessions let the tokens of ended sessions in again (the upgrade
 * review); builds before this check run on such a database without a word.
 */
async function refuseNewerSchema(orm: Orm): Promise<void> {
  const known = new Set(migrationsList.map((migration) => migration.name));
  const unknown = (await orm.migrator.getExecutedMigrations()).map((row) => row.name).filter((name) => !known.has(name));
  if (unknown.length === 0) return;
  throw new ConfigError(
    `the database was migrated by a newer build (${unknown.join(', ')}): run that build or a later one; to go back, restore the backup taken before the upgrade`,
  );
}

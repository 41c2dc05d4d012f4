import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { EmbeddedDriver } from './embedded-driver.js';
import { TaskflowPostgreSqlDriver } from './platform.js';
import { migrationsList } from '../../migrations/index.js';
import { type Config, ConfigError } from '../config.js';
import { lockDataDir } from './data-dir-lock.js';
import { entities } from './entities.js';
import { dropReadOnlySessions } from './read-only-sessions.js';

export type Orm = MikroORM;

/** The most database connections a node holds (PostgreSQL; the embedded database has one). */
export const POOL_SIZE = 10;

/** How long PostgreSQL lets a pooled session sit idle inside a transaction before ending it. */
const IDLE_IN_TRANSACTION_MS = 60_000;
/** How long a pooled connection sits idle before TCP keep-alive probes it. */
const KEEP_ALIVE_DELAY_MS = 10_000;
/** How often PostgreSQL checks, while it runs or waits on a statement, that its client is still there. */
export const CLIENT_CHECK_MS = 1000;

/** Options shared by the server and the migration tooling; no connection is opened here. */
/** Where knex's own warnings go (it prints to the console otherwise, whatever the log level). */
export interface DriverLog {
  warn(message: unknown): void;
  error(message: unknown): void;
}

export function ormOptions(databaseUrl: string | null, pglite?: PGlite, log?: DriverLog): Options {
  const common: Options = {
    entities,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: false },
    // Each migration in a transaction of its own, not all of them in one: one transaction held
    // each table it had altered until the last was done, and took them in another order than a
    // task change does (the event log, then the tasks), so a node of the old build still writing
    // deadlocked with it (the upgrade review, two runs of two).
    migrations: {
      path: 'migrations',
      pathTs: 'migrations',
      emit: 'ts',
      migrationsList,
      snapshot: false,
      silent: true,
      allOrNothing: false,
    },
    forceUtcTimezone: true,
    allowGlobalContext: false,
    ensureDatabase: false,
  };
  if (databaseUrl) {
    return {
      ...common,
      driver: TaskflowPostgreSqlDriver as unknown as Options['driver'],
      clientUrl: databaseUrl,
      // Connections open as they are needed, up to 10, and close after 30 s idle (knex's
      // default), but never the last two, however quiet the node. A connection made on demand
      // costs the change that waits for it a new PostgreSQL backend, its caches and the
      // statements prepared again: the first change after every quiet half-minute took 14-17 ms
      // instead of 3-4 (README, Configuration). A kept connection that died meanwhile fails the
      // pool's check when lent and is replaced.
      pool: { min: 2, max: POOL_SIZE },
      // Fail fast while PostgreSQL is away, so callers get UNAVAILABLE instead of a hang. A
      // transaction left open by a bug would hold its board's `seq` lock for good: PostgreSQL
      // ends any session idle in a transaction for a minute (the pool then replaces it). TCP
      // keep-alive probes an idle pooled connection after 10 s, so that a firewall or NAT on the
      // way does not silently drop it, and a peer that vanished is noticed rather than waited on.
      // A node that dies while its change waits for a board's row must not have the change
      // committed after it, with no one left to broadcast or answer it: PostgreSQL ends the
      // statement of a client that went away (checked every second, PostgreSQL 14 and later).
      // No statement here runs long enough to repay JIT compilation, which PostgreSQL starts once
      // a plan's estimated cost passes `jit_above_cost`: a board's snapshot, whose plan counts its
      // first row's subqueries once a row, passes it once the tables have statistics, and a
      // labelled 1,000-task board then took 25 ms instead of 10 (bench/FINDINGS.md).
      driverOptions: {
        acquireConnectionTimeout: 5000,
        connection: {
          connectionTimeoutMillis: 3000,
          keepAlive: true,
          keepAliveInitialDelayMillis: KEEP_ALIVE_DELAY_MS,
          idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_MS,
          application_name: 'taskflow',
          options: `-c client_connection_check_interval=${CLIENT_CHECK_MS} -c jit=off`,
        },
        ...(log ? { log: { warn: log.warn, error: log.error, deprecate: log.warn, debug: () => {} } } : {}),
      },
    };
  }
  return {
    ...common,
    driver: EmbeddedDriver as unknown as Options['driver'],
    dbName: 'postgres',
    pool: { min: 1, max: 1 },
    driverOptions: { connection: { pglite: () => pglite! } },
  };
}

/**
 * Opens the database: PostgreSQL at `databaseUrl`, or the embedded PGlite in `dataDir/pgdata`
 * (kept across restarts), which one process at a time may open (`lockDataDir`). `close` shuts
 * both down.
 */
export async function openDatabase(
  config: Pick<Config, 'databaseUrl' | 'dataDir'>,
  log?: DriverLog,
): Promise<{ orm: Orm; close: () => Promise<void> }> {
  if (config.databaseUrl) {
    const orm = await MikroORM.init(ormOptions(config.databaseUrl, undefined, log));
    dropReadOnlySessions(orm);
    return { orm, close: () => orm.close(true) };
  }
  const dir = path.join(config.dataDir, 'pgdata');
  mkdirSync(config.dataDir, { recursive: true });
  const release = await lockDataDir(config.dataDir);
  let pglite: PGlite | undefined;
  const closeAll = async (orm?: Orm) => {
    try {
      await orm?.close(true);
    } finally {
      try {
        await pglite?.close();
      } finally {
        release();
      }
    }
  };
  try {
    if (!existsSync(dir)) await createEmbeddedCluster(dir);
    // A \`date\` as PostgreSQL writes it (\`YYYY-MM-DD\`), as the pg driver gives it to MikroORM: PGlite
    // would make it a Date at midnight UTC, and an entity read back would answer a timestamp.
    pglite = await PGlite.create(dir, { parsers: { [types.DATE]: (text: string) => text } }).catch((error: unknown) => {
      // PGlite's own error (an abort deep in its WebAssembly) says nothing of where; this line does.
      throw new ConfigError(`cannot open the embedded database in ${dir} (DATA_DIR): PGlite stopped with "${String(error)}"`);
    });
    const orm = await MikroORM.init(ormOptions(null, pglite));
    return { orm, close: () => closeAll(orm) };
  } catch (error) {
    await closeAll().catch(() => {});
    throw error;
  }
}

/**
 * Makes the embedded database's cluster in `dir`: in a folder beside it, moved into place once
 * made. PGlite writes its files where it is told and takes any folder that has them for a made
 * cluster, so a first start stopped while it made one (a Ctrl-C in its first seconds) left a
 * folder that no start could open again. A folder left half made by such a start is made afresh.
 */
async function createEmbeddedCluster(dir: string): Promise<void> {
  const making = `${dir}.making`;
  rmSync(making, { recursive: true, force: true });
  const made = await PGlite.create(making).catch((error: unknown) => {
    throw new ConfigError(`cannot make the embedded database in ${making} (DATA_DIR): PGlite stopped with "${String(error)}"`);
  });
  await made.close();
  renameSync(making, dir);
}

/**
 * Throws a `ConfigError` naming DATABASE_URL when its database cannot be opened, before anything
 * is migrated: one that does not exist (the migrator would create it, and a typo in the name would
 * start an empty instance), or a server that does not answer.
 */
export async function requireDatabase(orm: Orm, databaseUrl: string | null): Promise<void> {
  if (!databaseUrl) return;
  const check = await orm.checkConnection();
  if (check.ok) return;
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  const missing = (check.error as { code?: string } | undefined)?.code === '3D000'; // invalid_catalog_name
  const why = missing ? `database ${JSON.stringify(name)} does not exist; create it first` : check.reason;
  throw new ConfigError(`cannot open DATABASE_URL (${url.hostname}:${url.port || 5432}/${name}): ${why}`);
}

import { randomUUID } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server the tests use; each test file gets a database of its own on it. */
export const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  name: string;
  /** Runs SQL as the connection owner (bypasses row-level security): for checking rows. */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

/**
 * Creates an empty database with a unique name, or a copy of `template` (as a restored backup
 * would be: nothing may be connected to it); `drop` removes it (and its connections).
 */
export async function createTestDatabase(template?: TestDatabase): Promise<TestDatabase> {
  const name = `taskflow_test_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await admin(`create database ${name}${template ? ` template ${template.name}` : ''}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  // An idle client ended from outside (a test that terminates the database's sessions, or the
  // forced drop below, which may end one mid-close after `pool.end()` resolved) is re-emitted by
  // the pool as 'error': unhandled, that fails the test file. The next query takes a new client.
  pool.on('error', () => {});
  return {
    url: url.toString(),
    name,
    query: async (sql, params) => (await pool.query(sql, params)).rows,
    drop: async () => {
      await pool.end();
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}

/** Runs SQL on the server's admin database (`postgres`), as the owner: for what no test database may do to itself. */
export async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Holds `lock` in a transaction of its own on `db` until the returned function is called. */
export async function holdLock(db: TestDatabase, lock: string): Promise<() => Promise<void>> {
  const holder = new pg.Client({ connectionString: db.url });
  holder.on('error', () => {}); // ended by the database's drop when a test failed before letting go
  await holder.connect();
  await holder.query('begin');
  await holder.query(lock);
  // Once only: a test lets go where its check needs it, and again in its `finally`, which is then a no-op.
  let released: Promise<void> | undefined;
  return () =>
    (released ??= (async () => {
      await holder.query('commit');
      await holder.end();
    })());
}

/** How many sessions of the test database wait for a lock (a change queued behind `holdLock`, say). */
export async function lockWaiters(db: TestDatabase): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`,
    [db.name],
  );
  return row!.n;
}

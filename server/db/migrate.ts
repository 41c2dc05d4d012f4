import { type Orm, requireDatabase } from './orm.js';
import { sql, withScriptConnection } from './sql-script.js';

/** The class of the advisory lock that migrations run under, apart from any other advisory lock. */
const MIGRATIONS = 7_400;

/**
 * Brings the schema up to date, one node at a time: nodes started together on one database (a
 * first deployment, or a deploy that brings a migration) queue on an advisory lock, held by a
 * connection of their own while the migrator runs, and each after the first finds nothing
 * pending. Without it they ran the same migrations at once, and all but one died on a duplicate
 * table. The embedded database needs no lock: one process holds its data folder. Answers the
 * names of the migrations this node applied.
 */
export async function migrate(orm: Orm, databaseUrl: string | null): Promise<string[]> {
  await requireDatabase(orm, databaseUrl);
  const ran = await withScriptConnection(orm, async (connection) => {
    await connection.run(sql`select pg_advisory_lock(${MIGRATIONS}, 0)`);
    try {
      return await orm.migrator.up();
    } finally {
      await connection.run(sql`select pg_advisory_unlock(${MIGRATIONS}, 0)`);
    }
  });
  return (ran ?? (await orm.migrator.up())).map((migration) => migration.name);
}

import { sqlState } from '../errors.js';
import type { Orm } from './orm.js';

/** PostgreSQL's SQLSTATE for a write in a transaction that takes none (`read_only_sql_transaction`). */
export const READ_ONLY_SQL_TRANSACTION = '25006';

/** A pooled connection, as knex marks one it must not lend again. */
interface Disposable {
  __knex__disposed?: unknown;
}

/**
 * Drops from the pool a connection whose session refused a write as read-only: a session takes
 * `default_transaction_read_only` as it was when the session began, and keeps it, so sessions
 * opened while the database took no writes (an administrator's `ALTER DATABASE … SET
 * default_transaction_read_only = on`, a standby before its promotion) went on refusing every write
 * after the database took them again, the pool keeping its last two for good (the fault review: a
 * node answered every change UNAVAILABLE, and `/readyz` 503, a minute after the setting was reset,
 * until it was restarted). Its next session reads the database as it is then.
 */
export function dropIfReadOnly(connection: Disposable, error: unknown): void {
  if (sqlState(error) === READ_ONLY_SQL_TRANSACTION)
    connection.__knex__disposed ??=
      'its session refused a write as read-only: dropped from the pool, for one that reads the database as it is now';
}

/** The same for every statement the ORM sends through knex. */
export function dropReadOnlySessions(orm: Orm): void {
  const client = orm.em.getConnection().getKnex().client as { _query(connection: Disposable, query: unknown): Promise<unknown> };
  const query = client._query.bind(client);
  client._query = (connection, sent) =>
    query(connection, sent).catch((error: unknown) => {
      dropIfReadOnly(connection, error);
      throw error;
    });
}

import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type pg from 'pg';
import type { Orm } from './orm.js';

/** The part of knex's pool (tarn) that tells what is lent out. */
interface LendingPool {
  numUsed(): number;
  numPendingAcquires(): number;
  used: Array<{ resource: pg.Client & { processID?: number } }>;
  on(event: 'release' | 'destroySuccess', listener: () => void): void;
  removeListener(event: 'release' | 'destroySuccess', listener: () => void): void;
}

/**
 * For a stop, once every socket event and request has been answered: waits, at most `withinMs`,
 * for the database work still under way to end (a change answered UNAVAILABLE at its deadline
 * may still be waiting for its board's lock), so that what commits is broadcast while Redis is
 * still open. Then it cancels the statements still running on the node's connections: once the
 * node has closed, nothing it sent may commit unseen (PostgreSQL would run a message to its end
 * even for a client gone). A cancelled change is rolled back; its client's retry makes it.
 * Answers how many statements it cancelled.
 */
export async function settleDatabaseWork(orm: Orm, withinMs: number): Promise<number> {
  const client = orm.em.getConnection().getKnex().client;
  const pool = client.pool as LendingPool | undefined;
  if (!pool || (await allReturned(pool, withinMs))) return 0;
  if (orm.em.getDriver().constructor !== PostgreSqlDriver) return 0;
  const pids = pool.used.map((used) => used.resource.processID).filter((pid) => pid !== undefined);
  const canceller = (await client.acquireRawConnection()) as pg.Client;
  try {
    await canceller.query('select pg_cancel_backend(pid) from unnest($1::int[]) as pid', [pids]);
  } finally {
    await client.destroyRawConnection(canceller);
  }
  await allReturned(pool, withinMs);
  return pids.length;
}

/** Resolves true once nothing of the pool is lent out or waited for, false after `withinMs`. */
function allReturned(pool: LendingPool, withinMs: number): Promise<boolean> {
  const idle = () => pool.numUsed() + pool.numPendingAcquires() === 0;
  if (idle()) return Promise.resolve(true);
  return new Promise((resolve) => {
    // tarn tells of a release before it takes the connection off its list of those lent.
    const check = () => setImmediate(() => idle() && done(true));
    const timer = setTimeout(() => done(false), withinMs);
    const done = (settled: boolean) => {
      clearTimeout(timer);
      pool.removeListener('release', check);
      pool.removeListener('destroySuccess', check);
      resolve(settled);
    };
    pool.on('release', check);
    pool.on('destroySuccess', check);
  });
}

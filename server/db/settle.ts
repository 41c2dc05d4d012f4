import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type pg from 'pg';
import type { Orm } from './orm.js';

/** The part of knex's pool (tarn) that tells what is lent out, and who waits to borrow. */
interface LendingPool {
  numUsed(): number;
  numPendingAcquires(): number;
  used: Array<{ resource: pg.Client & { processID?: number } }>;
  pendingAcquires: Array<{ reject(error: Error): void }>;
  on(event: 'release' | 'destroySuccess', listener: () => void): void;
  removeListener(event: 'release' | 'destroySuccess', listener: () => void): void;
}

/** The part of knex's client that lends connections. */
interface LendingClient {
  pool?: LendingPool;
  acquireConnection(): Promise<unknown>;
  acquireRawConnection(): Promise<unknown>;
  destroyRawConnection(connection: unknown): Promise<void>;
  /** Set once the node has stopped lending (`stopLending`). */
  stoppedLending?: true;
}

/** How often statements that still run once lending stopped are cancelled again, until none is left. */
const CANCEL_AGAIN_MS = 250;

/**
 * For a stop, once every socket event and request has been answered: waits, at most `withinMs`,
 * for the database work still under way to end (a change answered UNAVAILABLE at its deadline
 * may still be waiting for its board's lock), so that what commits is broadcast while Redis is
 * still open. Then it stops lending connections and cancels the statements still running on
 * those lent, again until none runs (or `withinMs` more have passed): once the node has closed,
 * nothing it sent may commit unseen (PostgreSQL would run a message to its end even for a client
 * gone). A cancelled change is rolled back; its client's retry makes it. Answers how many
 * sessions it cancelled statements of.
 */
export async function settleDatabaseWork(orm: Orm, withinMs: number): Promise<number> {
  const client = orm.em.getConnection().getKnex().client as LendingClient;
  const pool = client.pool;
  if (!pool || (await allReturned(pool, withinMs))) return 0;
  if (orm.em.getDriver().constructor !== PostgreSqlDriver) return 0;
  // Nothing new may start once the cancelling begins: a board's next change, or a change of a
  // cancelled message sent again alone, would wait on the same lock and commit after the node
  // had closed Redis, its event broadcast to no one.
  stopLending(client, pool);
  const cancelled = new Set<number>();
  const until = Date.now() + withinMs;
  while (pool.numUsed() > 0 && Date.now() < until) {
    const pids = pool.used.map((used) => used.resource.processID).filter((pid) => pid !== undefined);
    for (const pid of pids) cancelled.add(pid);
    const canceller = (await client.acquireRawConnection()) as pg.Client;
    try {
      await canceller.query('select pg_cancel_backend(pid) from unnest($1::int[]) as pid', [pids]);
    } finally {
      await client.destroyRawConnection(canceller);
    }
    await allReturned(pool, Math.min(CANCEL_AGAIN_MS, Math.max(0, until - Date.now())));
  }
  return cancelled.size;
}

/**
 * From now on the pool lends nothing: whoever waits for a connection, or asks for one, fails at
 * once as with a closed pool (UNAVAILABLE), and connections lent out are wanted back
 * (`lendingStopped`), so that a board's messages stop following each other on one.
 */
function stopLending(client: LendingClient, pool: LendingPool): void {
  const refusal = () => new Error('Unable to acquire a connection: the node is stopping');
  client.stoppedLending = true;
  client.acquireConnection = () => Promise.reject(refusal());
  for (const waiting of pool.pendingAcquires.splice(0)) waiting.reject(refusal());
}

/** Whether knex's `client` has stopped lending connections (a stop is cancelling what still runs). */
export function lendingStopped(client: object): boolean {
  return (client as LendingClient).stoppedLending === true;
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

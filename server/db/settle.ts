import { setTimeout as sleep } from 'node:timers/promises';
import { onPostgreSql } from './platform.js';
import type pg from 'pg';
import { CLIENT_CHECK_MS, type Orm } from './orm.js';

/** A pooled connection, as pg's client keeps it: its session's pid, whether it waits for an answer, its socket. */
export type PooledConnection = pg.Client & {
  processID?: number;
  /** False from a message's sending to PostgreSQL's "ready for query" after its answer. */
  readyForQuery?: boolean;
  connection?: { stream: { destroy(): void; bytesRead: number } };
};

/** The part of knex's pool (tarn) that tells what is lent out, and who waits to borrow. */
interface LendingPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
  used: Array<{ resource: PooledConnection }>;
  pendingAcquires: Array<{ reject(error: Error): void }>;
  on(event: 'release' | 'destroySuccess', listener: () => void): void;
  removeListener(event: 'release' | 'destroySuccess', listener: () => void): void;
}

/** The part of knex's client that lends connections. */
export interface LendingClient {
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
 * For a stop, once every socket event and request has been answered: waits, at most `waitMs`,
 * for the database work still under way to end (a change answered UNAVAILABLE at its deadline
 * may still be waiting for its board's lock), so that what commits is broadcast while Redis is
 * still open. Then it stops lending connections and cancels the statements still running on
 * those lent, again until none runs (or `cancelMs` have passed): once the node has closed,
 * nothing it sent may commit unseen (PostgreSQL would run a message to its end even for a client
 * gone). A cancelled change is rolled back, and answered UNAVAILABLE if it still waits for its
 * answer; its client's retry makes it. Cancelling takes a session of its own: the sessions still
 * lent when none can be had (the database takes no more connections), or when cancelling did not
 * end them in time, are cut, their connections closed, which PostgreSQL notices within
 * `client_connection_check_interval` and rolls back (where it can see the close). Answers how
 * many sessions it cancelled statements of, and how many it cut.
 */
export async function settleDatabaseWork(
  orm: Orm,
  { waitMs, cancelMs }: { waitMs: number; cancelMs: number },
): Promise<{ cancelled: number; cut: number }> {
  const client = orm.em.getConnection().getKnex().client as LendingClient;
  const pool = client.pool;
  const none = { cancelled: 0, cut: 0 };
  if (!pool || (await allReturned(pool, waitMs))) return none;
  if (!onPostgreSql(orm)) return none;
  // Nothing new may start once the cancelling begins: a board's next change, or a change of a
  // cancelled message sent again alone, would wait on the same lock and commit after the node
  // had closed Redis, its event broadcast to no one.
  stopLending(client, pool);
  const cancelled = new Set<number>();
  const until = Date.now() + cancelMs;
  while (pool.numUsed() > 0 && Date.now() < until) {
    const canceller = (await client.acquireRawConnection().catch(() => null)) as pg.Client | null;
    if (!canceller) break;
    const pids = pool.used.map((used) => used.resource.processID).filter((pid) => pid !== undefined);
    for (const pid of pids) cancelled.add(pid);
    // One that fails (its session ended meanwhile) is tried again in the next round; what is left then is cut.
    await canceller.query('select pg_cancel_backend(pid) from unnest($1::int[]) as pid', [pids]).catch(() => {});
    await client.destroyRawConnection(canceller).catch(() => {});
    await allReturned(pool, Math.min(CANCEL_AGAIN_MS, Math.max(0, until - Date.now())));
  }
  const cut = pool.used.length;
  if (cut === 0) return { cancelled: cancelled.size, cut };
  for (const { resource } of pool.used) resource.connection?.stream.destroy();
  await allReturned(pool, CANCEL_AGAIN_MS);
  // Until PostgreSQL has noticed (its check's interval, twice), a session waiting on a lock could still take it and commit.
  await sleep(2 * CLIENT_CHECK_MS);
  return { cancelled: cancelled.size, cut };
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

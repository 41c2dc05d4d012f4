import type pg from 'pg';
import type { Orm } from './orm.js';
import { onPostgreSql } from './platform.js';
import type { LendingClient, PooledConnection } from './settle.js';

/** What is known of a lent connection that waits for an answer and has read nothing since `since`. */
interface Waiting {
  since: number;
  bytesRead: number;
  /** Checks in a row that found its session not working on a statement. */
  strikes: number;
}

export interface SilentConnectionWatch {
  stop(): void;
  /** How many times PostgreSQL was asked about connections waiting past their deadline. */
  readonly asks: number;
}

/** How many checks in a row must find a session idle before its connection is cut: one could fall between its answer's sending and its arrival. */
const STRIKES_TO_CUT = 2;

/**
 * Watches the pool's lent connections for one that PostgreSQL no longer answers: a message went
 * out on it and nothing came back for `afterMs` (the answer deadline, when its caller is told
 * UNAVAILABLE), while PostgreSQL, asked on a session of its own, says that the connection's
 * session is not working on a statement: it is idle (the message or its answer was lost on the
 * way: a half-open connection after a failover, a frozen proxy), gone, or stuck writing to a
 * client that reads nothing. Found so on two checks in a row, the connection is cut (and its
 * session ended where PostgreSQL holds it idle in its transaction, locks and all): what waited
 * on it fails as with any broken connection (UNAVAILABLE, its outcome looked for in the log), and
 * the pool replaces it. Without this, TCP would hold such a connection for a quarter of an hour
 * or more, and its board's changes, its account's turns and its place in the pool with it.
 *
 * A statement that PostgreSQL is still running, or waiting on a lock for, is left to finish,
 * however long it takes: it may commit after its deadline, as ANSWER_DEADLINE says. So is every
 * statement while PostgreSQL takes no session to ask from (at `max_connections`, or refusing
 * connections): it may be working on them. Behind PgBouncer a session's pid is not PostgreSQL's,
 * so there a statement is cut once it outlives its deadline, whatever it was doing.
 */
export function watchSilentConnections(
  orm: Orm,
  { afterMs, everyMs, onCut }: { afterMs: number; everyMs: number; onCut: (pid: number | undefined, silentMs: number) => void },
): SilentConnectionWatch {
  if (!onPostgreSql(orm)) return { stop: () => {}, asks: 0 };
  const client = orm.em.getConnection().getKnex().client as LendingClient;
  const waiting = new Map<PooledConnection, Waiting>();
  let checking = false;
  let asks = 0;

  const check = async () => {
    const now = Date.now();
    const lent = new Set((client.pool?.used ?? []).map((used) => used.resource));
    for (const connection of waiting.keys()) if (!lent.has(connection)) waiting.delete(connection);
    for (const connection of lent) {
      const bytesRead = connection.connection?.stream.bytesRead ?? 0;
      const known = waiting.get(connection);
      if (connection.readyForQuery !== false) waiting.delete(connection);
      else if (!known || known.bytesRead !== bytesRead) waiting.set(connection, { since: now, bytesRead, strikes: 0 });
    }
    const suspects = [...waiting].filter(([, known]) => now - known.since >= afterMs);
    if (suspects.length === 0) return;
    asks += 1;
    const working = await sessionsAtWork(
      client,
      suspects.map(([connection]) => connection.processID ?? 0),
    );
    if (!working) return; // PostgreSQL could not be asked: nothing is known
    for (const [connection, known] of suspects) {
      // Answered meanwhile: whatever the check saw, that connection is alive.
      if (waiting.get(connection) !== known || connection.connection?.stream.bytesRead !== known.bytesRead) continue;
      known.strikes = working.has(connection.processID ?? 0) ? 0 : known.strikes + 1;
      if (known.strikes < STRIKES_TO_CUT) continue;
      waiting.delete(connection);
      connection.connection?.stream.destroy();
      onCut(connection.processID, Date.now() - known.since);
      await endIdleSession(client, connection.processID ?? 0, everyMs);
    }
  };

  const timer = setInterval(() => {
    if (checking) return;
    checking = true;
    check()
      .catch(() => {})
      .finally(() => (checking = false));
  }, everyMs);
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    get asks() {
      return asks;
    },
  };
}

/**
 * Ends the session of a connection just cut when PostgreSQL holds it idle in its transaction since
 * before the last check: on a half-open path PostgreSQL never hears of the cut, and the session
 * would keep its locks (a board's row, with every change of that board on every node waiting on
 * it) until `idle_in_transaction_session_timeout`, a minute (the fault review: a board refused
 * every change for 60 s). Only a session of this server's (its database, role and application
 * name), and never one at work.
 */
async function endIdleSession(client: LendingClient, pid: number, idleMs: number): Promise<void> {
  // Not ended when PostgreSQL cannot be asked: its transaction ends at PostgreSQL's idle timeout, as before.
  await askPostgreSql(
    client,
    `select pg_terminate_backend(pid) from pg_stat_activity
      where pid = $1 and datname = current_database() and usename = current_user and application_name = 'taskflow'
        and state like 'idle in transaction%' and state_change <= now() - make_interval(secs => $2 / 1000.0)`,
    [pid, idleMs],
  );
}

/**
 * The sessions among `pids` that are running a statement or waiting on a lock, and not stuck
 * writing their answer to a client that does not read it; null when PostgreSQL cannot be asked.
 */
async function sessionsAtWork(client: LendingClient, pids: number[]): Promise<Set<number> | null> {
  const rows = await askPostgreSql<{ pid: number }>(
    client,
    `select pid from pg_stat_activity
      where pid = any($1::int[]) and state = 'active' and wait_event is distinct from 'ClientWrite'`,
    [pids],
  );
  return rows && new Set(rows.map((row) => row.pid));
}

/** Runs `query` on a session of its own, apart from the pool (whose connections may be the silent ones); null when PostgreSQL cannot be asked. */
async function askPostgreSql<R extends pg.QueryResultRow>(client: LendingClient, query: string, values: unknown[]): Promise<R[] | null> {
  const asker = (await client.acquireRawConnection().catch(() => null)) as pg.Client | null;
  if (!asker) return null;
  try {
    return (await asker.query<R>(query, values)).rows;
  } catch {
    return null;
  } finally {
    await client.destroyRawConnection(asker).catch(() => {});
  }
}

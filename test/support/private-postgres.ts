import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './processes.js';

const run = promisify(execFile);

/** Where the PostgreSQL binaries are (Debian's layout for 15 by default). */
const BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';
/** initdb refuses to run as root, so the cluster belongs to this OS user. */
const OS_USER = 'postgres';
/** How much of the server log is kept for a failure report (the tail). */
const LOG_TAIL_CHARS = 16 * 1024;

/**
 * A PostgreSQL cluster of the test's own, in a temporary directory on a free port of 127.0.0.1,
 * which the test may crash and start again (the machine's shared cluster is never touched).
 */
export interface PrivatePostgres {
  port: number;
  /** The temporary directory: the data directory, the unix socket and the server log are in it. */
  root: string;
  /** The superuser's connection string for `database`. */
  url(database?: string): string;
  /** Whether the postmaster was started and not stopped since. */
  running(): boolean;
  /** Starts the cluster (again) on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl stop -m immediate`: every backend is killed at once, as in a crash; recovery runs on the next start. */
  crash(): Promise<void>;
  /**
   * The same crash, with this whole process stopped until PostgreSQL is down: what this process
   * has sent (or been sent) meanwhile is handled only afterwards, by a server in this process
   * whose pooled connections are already dead without its having noticed yet.
   */
  crashWhileFrozen(): void;
  /** Creates a database; answers its connection string. */
  createDatabase(name: string): Promise<string>;
  /** Runs SQL as the superuser on a connection of its own (so nothing stale survives a crash). */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(database: string, sql: string, params?: unknown[]): Promise<R[]>;
  /** The tail of the server log, for a failing test's report. */
  log(): string;
  /** Stops the cluster (if running) and removes the directory; safe to call more than once. */
  destroy(): Promise<void>;
}

const live = new Set<PrivatePostgres>();
// A test file that fails or is interrupted must not leave a postmaster behind.
process.once('exit', () => {
  for (const cluster of live) {
    try {
      if (cluster.running())
        execFileSync('runuser', ['-u', OS_USER, '--', `${BIN}/pg_ctl`, '-D', dataDir(cluster.root), '-m', 'immediate', 'stop']);
    } catch {
      // already gone
    }
    rmSync(cluster.root, { recursive: true, force: true });
  }
});

const dataDir = (root: string) => path.join(root, 'data');

async function asOwner(command: string, args: string[]): Promise<void> {
  try {
    await run('runuser', ['-u', OS_USER, '--', `${BIN}/${command}`, ...args], { timeout: 60_000 });
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${command} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`, { cause: error });
  }
}

/** Initialises a cluster in a fresh temporary directory and starts it on a free port. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const root = mkdtempSync(path.join(tmpdir(), 'taskflow-pg-'));
  const port = await freePort();
  const logFile = path.join(root, 'postgres.log');
  let started = false;
  let destroyed = false;

  const cluster: PrivatePostgres = {
    port,
    root,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    running: () => started,
    start: async () => {
      const options = `-k ${root} -p ${port} -c listen_addresses=127.0.0.1 -c max_connections=60`;
      await asOwner('pg_ctl', ['-D', dataDir(root), '-l', logFile, '-w', '-t', '30', '-o', options, 'start']);
      started = true;
    },
    crash: async () => {
      await asOwner('pg_ctl', ['-D', dataDir(root), '-m', 'immediate', '-w', 'stop']);
      started = false;
    },
    crashWhileFrozen: () => {
      execFileSync('runuser', ['-u', OS_USER, '--', `${BIN}/pg_ctl`, '-D', dataDir(root), '-m', 'immediate', '-w', 'stop'], {
        stdio: 'pipe',
        timeout: 60_000,
      });
      started = false;
    },
    createDatabase: async (name) => {
      await cluster.query('postgres', `create database "${name}"`);
      return cluster.url(name);
    },
    query: async (database, sql, params) => {
      const client = new pg.Client({ connectionString: cluster.url(database), connectionTimeoutMillis: 5000 });
      client.on('error', () => {}); // a crash while connected ends the query with an error; nothing more to report
      await client.connect();
      try {
        return (await client.query(sql, params)).rows;
      } finally {
        await client.end().catch(() => {});
      }
    },
    log: () => {
      try {
        return readFileSync(logFile, 'utf8').slice(-LOG_TAIL_CHARS);
      } catch {
        return '(no server log)';
      }
    },
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      try {
        if (started) await cluster.crash();
      } finally {
        live.delete(cluster);
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
  live.add(cluster);

  try {
    await run('chown', [`${OS_USER}:`, root]);
    await asOwner('initdb', ['-D', dataDir(root), '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await cluster.start();
  } catch (error) {
    await cluster.destroy();
    throw error;
  }
  return cluster;
}

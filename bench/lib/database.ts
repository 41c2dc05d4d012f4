import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { cpuMeter } from './children.js';
import { round, summarize, type Summary } from './stats.js';

const run = promisify(execFile);

/** The PostgreSQL server the bench uses; it creates a database of its own there and drops it. */
export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  name: string;
  url: string;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  drop(): Promise<void>;
}

export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `taskflow_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await admin(`create database ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  pool.on('error', () => {});
  return {
    name,
    url: url.toString(),
    query: async (sql, params) => (await pool.query(sql, params)).rows,
    drop: async () => {
      await pool.end().catch(() => {});
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The connection flags of `ADMIN_URL`, for pgbench. */
function pgbenchConnection(database: string): string[] {
  const url = new URL(ADMIN_URL);
  return ['-h', url.hostname, '-p', url.port || '5432', '-U', decodeURIComponent(url.username || 'postgres'), database];
}

/** `pgbench -i -s 1`: the pgbench tables, in the bench database. */
export async function initPgbench(database: string): Promise<void> {
  await run('pgbench', ['-i', '-s', '1', '-q', ...pgbenchConnection(database)], { timeout: 120_000 });
}

export interface PgbenchResult {
  clients: number;
  seconds: number;
  tps: number;
  transactions: number;
  /** Per-transaction latency, from `--log`. */
  latency: Summary;
  /** The machine's CPU ms per transaction, pgbench's own included. */
  machineCpuMsPerTx: number;
}

/**
 * `pgbench -N -c C -j C -T S --log`: tps, and the latency percentiles computed from the
 * per-transaction log. With `rate`, paced open loop (`-R`) like TaskFlow's generator: each
 * latency then counts from the scheduled start (pgbench logs it so).
 */
export async function runPgbench(database: string, clients: number, seconds: number, rate?: number): Promise<PgbenchResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'taskflow-pgbench-'));
  try {
    const args = [
      '-N',
      '-c',
      String(clients),
      '-j',
      String(clients),
      '-T',
      String(seconds),
      '--log',
      `--log-prefix=${path.join(dir, 'tx')}`,
      ...(rate ? ['-R', String(round(rate, 1))] : []),
    ];
    const cpu = cpuMeter();
    const { stdout } = await run('pgbench', [...args, ...pgbenchConnection(database)], { timeout: (seconds + 60) * 1000, cwd: dir }).catch(
      (error: { stderr?: string; message: string }) => {
        throw new Error(`pgbench failed: ${error.message}\n${error.stderr ?? ''}`);
      },
    );
    const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(stdout);
    if (!tps) throw new Error(`pgbench printed no tps:\n${stdout}`);
    // Each log line: client_id transaction_no time(µs) script_no time_epoch time_us [schedule_lag(µs), with -R].
    // With -R, `time` already counts from the scheduled start: the lag is part of it, not to add.
    const latencies: number[] = [];
    for (const file of readdirSync(dir).filter((name) => name.startsWith('tx'))) {
      for (const line of readFileSync(path.join(dir, file), 'utf8').split('\n')) {
        const fields = line.split(' ');
        const micros = Number(fields[2]);
        if (line && Number.isFinite(micros)) latencies.push(micros / 1000);
      }
    }
    const used = cpu();
    return {
      clients,
      seconds,
      tps: round(Number(tps[1]), 1),
      transactions: latencies.length,
      latency: summarize(latencies),
      machineCpuMsPerTx: round((used.machine * 1000) / Math.max(1, latencies.length), 3),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

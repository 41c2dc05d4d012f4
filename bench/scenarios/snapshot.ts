import { cpuSeconds, type NodeServer } from '../lib/children.js';
import { type Board, createTasks } from '../lib/seed.js';
import { summarize, type Summary } from '../lib/stats.js';
import type { GeneratorHealth } from '../loadgen/protocol.js';
import type { BenchContext } from './context.js';

export interface SnapshotOptions {
  tasks: number;
  sockets: number;
  /** The highest join rate; lower when one join takes long (see below). */
  maxRate: number;
  /** How busy the open-loop joins may keep the server, by the serial joins' mean: 0.25 = a quarter of the time. */
  utilisation: number;
  samples: number;
}

export interface SnapshotResult {
  tasks: number;
  bytes: number;
  /** Joins one after another (no queueing): the service time. */
  serial: Summary;
  /** The server's CPU time (from /proc) per serial join. */
  serverCpuMsPerJoin: number;
  rate: number;
  latency: Summary;
  failed: number;
  generator: GeneratorHealth;
}

/** Open-loop `board:join`s (no `sinceSeq`: full snapshots) of one board of `tasks` tasks. */
export async function snapshot(ctx: BenchContext, server: NodeServer, board: Board, options: SnapshotOptions): Promise<SnapshotResult> {
  const [gen] = ctx.generators;
  ctx.log(`snapshot: seeding ${options.tasks} tasks`);
  await createTasks(server.url, ctx.fixture.owner.token, board, options.tasks);
  const users = ctx.fixture.users;
  const opened = await gen!.connect(
    {
      group: 'snap',
      url: server.url,
      protocol: 'taskflow',
      sockets: Array.from({ length: options.sockets }, (_, i) => ({ token: users[i % users.length]!.token })),
      concurrency: 4,
      timeoutMs: 10_000,
    },
    60_000,
  );
  if (opened.failed) throw new Error(`snapshot sockets failed: ${opened.errors.join('; ')}`);
  try {
    // The serial joins give the service time; the open-loop rate then keeps the server busy at most
    // `utilisation` of the time, so the percentiles show the spread of a join, not a queue the bench made.
    const cpuBefore = cpuSeconds(server.pid);
    const serial = summarize(await gen!.serialJoin({ group: 'snap', board: board.projectId, count: 10, timeoutMs: 30_000 }));
    const serverCpuMsPerJoin = Math.round((cpuSeconds(server.pid) - cpuBefore) * 100_000) / serial.count / 100;
    const rate = Math.max(0.5, Math.min(options.maxRate, (options.utilisation * 1000) / serial.mean));
    const durationMs = Math.min(60_000, Math.max(2000, (options.samples / rate) * 1000));
    const joined = await gen!.join({ group: 'snap', board: board.projectId, rate, durationMs, ackTimeoutMs: 30_000 });
    const result: SnapshotResult = {
      tasks: joined.tasks,
      bytes: joined.bytes,
      serial,
      serverCpuMsPerJoin,
      rate: Math.round(rate * 100) / 100,
      latency: summarize(joined.latencies),
      failed: joined.failed,
      generator: joined.health,
    };
    ctx.log(
      `  ${result.tasks} tasks, ${result.bytes} bytes: p50 ${result.latency.p50} p99 ${result.latency.p99} ms (${result.latency.count} joins)`,
    );
    return result;
  } finally {
    await gen!.close('snap');
  }
}

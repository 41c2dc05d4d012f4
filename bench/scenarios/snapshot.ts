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
  /** Then rejoins: `board:join` with a `sinceSeq` this many events behind, as a client reconnecting. */
  rejoin: { behind: number; serial: number; maxRate: number; samples: number };
}

/** Joins one after another, then open-loop joins at a rate that keeps the server at most `utilisation` busy. */
export interface JoinTimes {
  /** Joins one after another (no queueing): the service time. */
  serial: Summary;
  /** The server's CPU time (from /proc) per serial join. */
  serverCpuMsPerJoin: number;
  rate: number;
  latency: Summary;
  failed: number;
  generator: GeneratorHealth;
}

export interface SnapshotResult extends JoinTimes {
  tasks: number;
  bytes: number;
  rejoin: JoinTimes & { events: number; bytes: number };
}

/** Open-loop `board:join`s of one board of `tasks` tasks: full snapshots, then rejoins (`sinceSeq`). */
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
    const timed = async (serialCount: number, maxRate: number, samples: number, sinceSeq?: number) => {
      // The serial joins give the service time; the open-loop rate then keeps the server busy at most
      // `utilisation` of the time, so the percentiles show the spread of a join, not a queue the bench made.
      const cpuBefore = cpuSeconds(server.pid);
      const serial = summarize(
        await gen!.serialJoin({ group: 'snap', board: board.projectId, sinceSeq, count: serialCount, timeoutMs: 30_000 }),
      );
      const serverCpuMsPerJoin = Math.round(((cpuSeconds(server.pid) - cpuBefore) * 100_000) / serial.count) / 100;
      const rate = Math.max(0.5, Math.min(maxRate, (options.utilisation * 1000) / serial.mean));
      const durationMs = Math.min(60_000, Math.max(2000, (samples / rate) * 1000));
      const joined = await gen!.join({ group: 'snap', board: board.projectId, sinceSeq, rate, durationMs, ackTimeoutMs: 30_000 });
      const times: JoinTimes = {
        serial,
        serverCpuMsPerJoin,
        rate: Math.round(rate * 100) / 100,
        latency: summarize(joined.latencies),
        failed: joined.failed,
        generator: joined.health,
      };
      return { times, joined };
    };
    const full = await timed(10, options.maxRate, options.samples);
    ctx.log(
      `  ${full.joined.tasks} tasks, ${full.joined.bytes} bytes: p50 ${full.times.latency.p50} p99 ${full.times.latency.p99} ms (${full.times.latency.count} joins)`,
    );
    const { behind } = options.rejoin;
    const again = await timed(options.rejoin.serial, options.rejoin.maxRate, options.rejoin.samples, full.joined.seq - behind);
    if (again.joined.events !== behind) throw new Error(`a rejoin ${behind} events behind answered ${again.joined.events} events`);
    ctx.log(
      `  rejoins ${behind} events behind: p50 ${again.times.latency.p50} p99 ${again.times.latency.p99} ms, ${again.times.serverCpuMsPerJoin} ms CPU`,
    );
    return {
      tasks: full.joined.tasks,
      bytes: full.joined.bytes,
      ...full.times,
      rejoin: { ...again.times, events: again.joined.events, bytes: again.joined.bytes },
    };
  } finally {
    await gen!.close('snap');
  }
}

import { cpuSeconds, cpuShare, type NodeServer, rssBytes, writtenSoFar } from '../lib/children.js';
import { sleep } from '../lib/clock.js';
import type { Board } from '../lib/seed.js';
import { round, type Summary } from '../lib/stats.js';
import type { GeneratorHealth, Protocol, SocketSpec } from '../loadgen/protocol.js';
import type { BenchContext } from './context.js';

export interface ConnectionsOptions {
  sockets: number;
  /** Sockets a generator keeps connecting at once. */
  concurrency: number;
  settleMs: number;
  idleCpuMs: number;
}

export interface ConnectionsRun {
  side: Protocol;
  opened: number;
  failed: number;
  errors: string[];
  /** connect + authenticate + join, sockets/s over the whole ramp. */
  rate: number;
  /** The server's CPU time (from /proc) per socket during the ramp. */
  serverCpuMsPerSocket: number;
  /** What the server wrote per socket during the ramp (`/proc/<pid>/io`): the answers, and the presence lists to everyone on the board. */
  writtenPerSocket: { bytes: number; calls: number };
  latency: Summary[];
  heapPerSocket: number;
  /** Heap plus memory outside it (buffers of the sockets), per socket. */
  heapAndExternalPerSocket: number;
  rssPerSocket: number;
  before: { heapUsed: number; external: number; rss: number };
  after: { heapUsed: number; external: number; rss: number };
  /** CPU while the sockets sit idle, as a share of one core. */
  idleCpu: number;
  generators: GeneratorHealth[];
  generatorBound: boolean;
}

export interface ConnectionsResult {
  sockets: number;
  boards: number;
  taskflow: ConnectionsRun;
  relay: ConnectionsRun;
  heapRatio: number;
  rssRatio: number;
}

/** 0 → N authenticated sockets joined to boards on one TaskFlow node, then the same on the bare relay. */
export async function connections(
  ctx: BenchContext,
  taskflow: NodeServer,
  relay: NodeServer,
  boards: Board[],
  options: ConnectionsOptions,
): Promise<ConnectionsResult> {
  const users = ctx.fixture.users;
  const gens = ctx.generators.slice(0, 2);
  const run = async (protocol: Protocol, server: NodeServer): Promise<ConnectionsRun> => {
    // Boards are interleaved (socket i on board i mod B), so each board's room fills during the whole
    // ramp, and each of a board's sockets is another person, so its presence list grows with it.
    const spec = (i: number): SocketSpec => ({
      board: boards[i % boards.length]!.projectId,
      ...(protocol === 'taskflow' ? { token: users[Math.floor(i / boards.length) % users.length]!.token } : {}),
    });
    const warm = await gens[0]!.connect(
      {
        group: 'warm',
        url: server.url,
        protocol,
        sockets: Array.from({ length: 50 }, (_, i) => spec(i)),
        concurrency: 10,
        timeoutMs: 10_000,
      },
      60_000,
    );
    if (warm.failed) throw new Error(`${protocol}: warm-up sockets failed: ${warm.errors.join('; ')}`);
    await gens[0]!.close('warm');
    await sleep(options.settleMs);
    const heapBefore = await server.heap();
    const before = { heapUsed: heapBefore.heapUsed, external: heapBefore.external, rss: rssBytes(server.pid) };

    const cpuBefore = cpuSeconds(server.pid);
    const writtenBefore = writtenSoFar(server.pid);
    const results = await Promise.all(
      gens.map((gen, g) =>
        gen.connect(
          {
            group: 'conn',
            url: server.url,
            protocol,
            sockets: Array.from({ length: options.sockets }, (_, i) => i)
              .filter((i) => i % gens.length === g)
              .map(spec),
            concurrency: options.concurrency,
            timeoutMs: 20_000,
          },
          600_000,
        ),
      ),
    );
    const opened = results.reduce((total, r) => total + r.opened, 0);
    const serverCpuMsPerSocket = round(((cpuSeconds(server.pid) - cpuBefore) * 1000) / Math.max(1, opened), 2);
    const written = writtenSoFar(server.pid);
    const writtenPerSocket = {
      bytes: round((written.bytes - writtenBefore.bytes) / Math.max(1, opened), 0),
      calls: round((written.calls - writtenBefore.calls) / Math.max(1, opened), 1),
    };
    const seconds = (Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt))) / 1000;
    await sleep(options.settleMs);
    const idleCpu = await cpuShare(server.pid, options.idleCpuMs);
    const heapAfter = await server.heap();
    const after = { heapUsed: heapAfter.heapUsed, external: heapAfter.external, rss: rssBytes(server.pid) };
    await Promise.all(gens.map((gen) => gen.close('conn')));
    const per = (delta: number) => round(delta / Math.max(1, opened), 0);
    const generators = results.map((r) => r.health);
    const done: ConnectionsRun = {
      side: protocol,
      opened,
      failed: results.reduce((total, r) => total + r.failed, 0),
      errors: results.flatMap((r) => r.errors).slice(0, 5),
      rate: round(opened / seconds, 1),
      serverCpuMsPerSocket,
      writtenPerSocket,
      latency: results.map((r) => r.latency),
      heapPerSocket: per(after.heapUsed - before.heapUsed),
      heapAndExternalPerSocket: per(after.heapUsed + after.external - before.heapUsed - before.external),
      rssPerSocket: per(after.rss - before.rss),
      before,
      after,
      idleCpu: round(idleCpu, 3),
      generators,
      generatorBound: generators.some((health) => health.bound),
    };
    ctx.log(
      `  ${protocol}: ${opened} sockets (${done.failed} failed) at ${done.rate}/s (${serverCpuMsPerSocket} ms server CPU each); heap ${done.heapPerSocket} B, ` +
        `RSS ${done.rssPerSocket} B per socket; idle CPU ${round(idleCpu * 100, 1)}% of a core${done.generatorBound ? ' [generator-bound]' : ''}`,
    );
    await sleep(options.settleMs);
    return done;
  };

  ctx.log(`connections: 0 → ${options.sockets} on one node`);
  const taskflowRun = await run('taskflow', taskflow);
  const relayRun = await run('relay', relay);
  return {
    sockets: options.sockets,
    boards: boards.length,
    taskflow: taskflowRun,
    relay: relayRun,
    heapRatio: round(taskflowRun.heapPerSocket / relayRun.heapPerSocket, 2),
    rssRatio: round(taskflowRun.rssPerSocket / relayRun.rssPerSocket, 2),
  };
}

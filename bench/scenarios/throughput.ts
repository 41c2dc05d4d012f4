import { type PgbenchResult, runPgbench } from '../lib/database.js';
import { cpuMeter, type NodeServer, processesCpuMeter } from '../lib/children.js';
import { separatePostgres } from '../lib/cpu-layout.js';
import { type RateSearchOptions, searchMaxRate } from '../lib/rate-search.js';
import { sleep } from '../lib/clock.js';
import { type Board, createTasks } from '../lib/seed.js';
import { median, round, summarize, type Summary } from '../lib/stats.js';
import type { GeneratorHealth, SendTarget } from '../loadgen/protocol.js';
import { type BenchContext, nextTag } from './context.js';

export interface ThroughputOptions extends Omit<RateSearchOptions, 'minRate'> {
  /** Writer sockets, spread evenly over the boards; pgbench runs with as many clients. */
  clients: number;
  rounds: number;
  stepMs: number;
  pgbenchSeconds: number;
  /** Pairs per round at the budget's load: a TaskFlow step and pgbench paced at the same rate, in turn. */
  latencyPairs: number;
  /** Pairs at the budget's load with PostgreSQL on a core of its own, after the rounds (0: none). */
  separateCoresPairs: number;
}

export interface Step {
  rate: number;
  sent: number;
  ok: number;
  failed: number;
  timedOut: number;
  errors: Record<string, number>;
  ack: Summary;
  /** Oks per second from the first due time to the last answer: what the server kept up with. */
  achievedRate: number;
  /** The server's CPU time (user + system, from /proc) per ok update: robust to a busy machine. */
  serverCpuMsPerUpdate: number;
  /** PostgreSQL's CPU time, the load generators', and the whole machine's (kernel included), per ok update. */
  postgresCpuMsPerUpdate: number;
  generatorCpuMsPerUpdate: number;
  machineCpuMsPerUpdate: number;
  /** board:event deliveries owed to the watchers (one per board), and what arrived. */
  expectedDeliveries: number;
  delivered: number;
  duplicates: number;
  passed: boolean;
  /** Why it failed, when it did. */
  reasons: string[];
  generator: GeneratorHealth;
}

/** TaskFlow and pgbench, one after the other, at the same offered rate. */
export interface LatencyPair {
  ackP99: number;
  pgbenchP99: number;
  /** Every ack ok, every event delivered, and both p99s measured. */
  clean: boolean;
  generatorBound: boolean;
  /**
   * pgbench's p99 was over the max rate's limit (50 ms) at 40% of its own tps: the machine stalled
   * in its turn, and the difference would flatter TaskFlow. Such a pair is not judged.
   */
  baselineStalled: boolean;
}

/**
 * The sender ack p99 at the load the throughput budget promises (`BUDGET_LOAD` of pgbench's tps),
 * against pgbench -N paced at the same rate: TaskFlow's cost over a bare transaction's, with the
 * machine as busy for both. (At TaskFlow's max rate its p99 is near 50 ms by the max rate's
 * definition, while pgbench there is at a fraction of its own limit: that compares the two
 * limits, which the throughput budget already does.)
 */
export interface BudgetLoadLatency {
  rate: number;
  pairs: LatencyPair[];
  /** The pairs judged: those whose baseline did not stall (all of them if every one did). */
  judged: number;
  /** Medians over the pairs judged: TaskFlow's p99, pgbench's, and of the pairs' differences. */
  ackP99Ms: number;
  pgbenchP99Ms: number;
  p99OverPgbenchMs: number;
  clean: boolean;
  generatorBound: boolean;
}

/**
 * The sender ack at the budget's load again, with PostgreSQL on a core of its own and TaskFlow,
 * the generators and pgbench's client on the others (`separatePostgres`), as a deployment keeps
 * the database off the application's CPUs: pgbench's tps, and so the load, measured in that layout.
 */
export interface SeparateCoresLatency extends BudgetLoadLatency {
  layout: string;
  pgbench: PgbenchResult;
}

export interface ThroughputRound {
  pgbench: PgbenchResult;
  /** pgbench -N paced at TaskFlow's max rate (`-R`), open loop like the generator: the latency baseline. */
  pgbenchAtRate: PgbenchResult | null;
  /** The highest rate (updates/s) at which every ack was ok within p99 < 50 ms and every event arrived. */
  maxRate: number;
  ackP99AtMax: number;
  /** The first failing rate and why; null when the ramp never failed (maxRate is then a lower bound). */
  limit: { rate: number; reasons: string[] } | null;
  /** The generator was the bottleneck at the step that decided the maximum. */
  generatorBound: boolean;
  /** The most acks per second any step got (all ok, events delivered), whatever their latency: saturation. */
  saturationRate: number;
  /** CPU ms per update at the max rate (where the load is real): the server's, PostgreSQL's, the generators', the machine's. */
  serverCpuMsPerUpdate: number;
  postgresCpuMsPerUpdate: number;
  generatorCpuMsPerUpdate: number;
  machineCpuMsPerUpdate: number;
  ratio: number;
  p99OverPgbenchMs: number;
  /** The pairs at the budget's load, this round's share. */
  budgetLoad: Pick<BudgetLoadLatency, 'rate' | 'pairs'>;
  /** Rates set aside because the machine stalled: pgbench paced at the same rate was over the limit too. */
  stalls: Stall[];
  steps: Step[];
}

/** A rate that failed on its slow tail alone while pgbench, paced at the same rate, failed too. */
export interface Stall {
  rate: number;
  ackP99: number;
  pgbenchP99: number;
}

export interface ThroughputResult {
  node: 'single';
  boards: number;
  clients: number;
  rounds: ThroughputRound[];
  tps: number;
  ackP99Ms: number;
  pgbenchTps: number;
  pgbenchP99Ms: number;
  ratio: number;
  p99OverPgbenchMs: number;
  saturationRate: number;
  saturationRatio: number;
  budgetLoad: BudgetLoadLatency;
  /** Null when not asked for (quick runs). */
  separateCores: SeparateCoresLatency | { unavailable: string } | null;
  serverCpuMsPerUpdate: number;
  postgresCpuMsPerUpdate: number;
  generatorCpuMsPerUpdate: number;
  machineCpuMsPerUpdate: number;
  pgbenchMachineCpuMsPerTx: number;
  generatorBound: boolean;
}

const ACK_P99_LIMIT_MS = 50;
/** DESIGN §9's throughput budget, as a share of pgbench's tps: the load the latency budget is judged at. */
export const BUDGET_LOAD = 0.4;
const MIN_RATE = 2;

/** Every ack ok and every event delivered, the median well under the limit: only the tail was slow. */
function onlyTheTailSlow(step: Step): boolean {
  return (
    step.ok === step.sent && step.delivered === step.expectedDeliveries && step.duplicates === 0 && step.ack.p50 < ACK_P99_LIMIT_MS / 5
  );
}

export async function throughput(
  ctx: BenchContext,
  server: NodeServer,
  boards: Board[],
  options: ThroughputOptions,
): Promise<ThroughputResult> {
  const [writerGen, watcherGen] = ctx.generators as [BenchContext['generators'][0], BenchContext['generators'][0]];
  const users = ctx.fixture.users;
  // One task per writer, so writers never touch each other's rows; the boards' seq rows are shared.
  const targets: SendTarget[] = [];
  for (const [b, board] of boards.entries()) {
    const writers = Math.floor(options.clients / boards.length) + (b < options.clients % boards.length ? 1 : 0);
    for (const taskId of await createTasks(server.url, ctx.fixture.owner.token, board, writers))
      targets.push({ board: board.projectId, taskId });
  }
  await writerGen.connect(
    {
      group: 'tp-write',
      url: server.url,
      protocol: 'taskflow',
      sockets: targets.map((_, i) => ({ token: users[i % users.length]!.token })),
      concurrency: 8,
      timeoutMs: 10_000,
    },
    60_000,
  );
  await watcherGen.connect(
    {
      group: 'tp-watch',
      url: server.url,
      protocol: 'taskflow',
      sockets: boards.map((board) => ({ token: ctx.fixture.owner.token, board: board.projectId })),
      concurrency: 8,
      timeoutMs: 10_000,
    },
    60_000,
  );

  const step = async (rate: number, poisson = false): Promise<Step> => {
    const tag = nextTag('tp');
    await watcherGen.watch('tp-watch', tag);
    const cpu = cpuMeter([server.pid]);
    const generatorCpu = processesCpuMeter([writerGen.child.pid, watcherGen.child.pid]);
    const sent = await writerGen.send({
      group: 'tp-write',
      tag,
      protocol: 'taskflow',
      targets,
      rate,
      poisson,
      durationMs: options.stepMs,
      ackTimeoutMs: 5000,
    });
    const collected = await watcherGen.collect({ group: 'tp-watch', tag, expected: sent.okPerBoard, waitMs: 3000 });
    const used = cpu();
    const generatorsUsed = generatorCpu();
    const perUpdate = (seconds: number) => round((seconds * 1000) / Math.max(1, sent.ok), 2);
    const serverCpuMsPerUpdate = perUpdate(used.processes);
    const expectedDeliveries = Object.values(sent.okPerBoard).reduce((a, b) => a + b, 0);
    const delivered = collected.sockets.reduce((total, socket) => total + socket.received.length, 0);
    const duplicates = collected.sockets.reduce((total, socket) => total + socket.duplicates, 0);
    const ack = summarize(sent.latencies);
    const reasons: string[] = [];
    if (sent.failed || sent.timedOut) reasons.push(`${sent.failed} refused, ${sent.timedOut} unanswered ${JSON.stringify(sent.errors)}`);
    if (!(ack.p99 < ACK_P99_LIMIT_MS)) reasons.push(`ack p99 ${ack.p99} ms`);
    if (delivered < expectedDeliveries) reasons.push(`${expectedDeliveries - delivered} events not delivered`);
    if (duplicates) reasons.push(`${duplicates} duplicate events`);
    const result: Step = {
      rate: round(rate, 1),
      sent: sent.sent,
      ok: sent.ok,
      failed: sent.failed,
      timedOut: sent.timedOut,
      errors: sent.errors,
      ack,
      achievedRate: sent.achievedRate,
      serverCpuMsPerUpdate,
      postgresCpuMsPerUpdate: perUpdate(used.postgres),
      generatorCpuMsPerUpdate: perUpdate(generatorsUsed),
      machineCpuMsPerUpdate: perUpdate(used.machine),
      expectedDeliveries,
      delivered,
      duplicates,
      passed: reasons.length === 0,
      reasons,
      generator: sent.health,
    };
    ctx.log(
      `  ${result.rate}/s: ${result.passed ? 'pass' : 'FAIL'} (${result.achievedRate} acks/s) ack p50 ${ack.p50} p99 ${ack.p99} ms, ${serverCpuMsPerUpdate} ms server CPU each` +
        `${reasons.length ? ` (${reasons.join('; ')})` : ''}${sent.health.bound ? ' [generator-bound]' : ''}`,
    );
    await sleep(500);
    return result;
  };

  // A rate fails only when a second run fails too: on a shared machine a single stall (a WAL
  // segment switch, a neighbour's burst) can push one 4-second step's p99 past the limit. And a
  // failure that is only a slow tail (every ack ok and every event delivered, the median fast) is
  // TaskFlow's limit only if the machine can keep that tail without it: pgbench paced at the same
  // rate. When pgbench's p99 is over the limit too, the machine stalled (a spell of slow disk
  // flushes can last minutes); the rate is set aside, neither passed nor failed, and the search
  // goes on. Setting a rate aside can only lower the max rate, never raise it.
  const confirmed = async (rate: number, steps: Step[], stalls: Stall[]): Promise<Step | 'stalled'> => {
    const first = await step(rate);
    steps.push(first);
    if (first.passed) return first;
    const again = await step(rate);
    steps.push(again);
    if (again.passed) return again;
    if (![first, again].every(onlyTheTailSlow)) return first;
    const probe = await runPgbench(ctx.database.name, targets.length, options.pgbenchSeconds, rate);
    if (probe.latency.p99 < ACK_P99_LIMIT_MS) return first;
    stalls.push({ rate: first.rate, ackP99: first.ack.p99, pgbenchP99: probe.latency.p99 });
    ctx.log(`  ${first.rate}/s set aside: pgbench paced at the same rate read p99 ${probe.latency.p99} ms (the machine stalled)`);
    return 'stalled';
  };

  /** TaskFlow steps and pgbench paced at `rate`, in turn, each first every other time. */
  const budgetPairs = async (rate: number, count: number): Promise<LatencyPair[]> => {
    const pairs: LatencyPair[] = [];
    for (let p = 0; p < count; p += 1) {
      // TaskFlow's arrivals as pgbench -R schedules its own.
      const baseline = () => runPgbench(ctx.database.name, targets.length, options.pgbenchSeconds, rate);
      const theirsFirst = p % 2 === 1 ? await baseline() : null;
      const mine = await step(rate, true);
      const theirs = theirsFirst ?? (await baseline());
      const clean =
        mine.ok === mine.sent &&
        mine.delivered === mine.expectedDeliveries &&
        mine.duplicates === 0 &&
        Number.isFinite(mine.ack.p99) &&
        Number.isFinite(theirs.latency.p99);
      pairs.push({
        ackP99: mine.ack.p99,
        pgbenchP99: theirs.latency.p99,
        clean,
        generatorBound: mine.generator.bound,
        baselineStalled: !(theirs.latency.p99 < ACK_P99_LIMIT_MS),
      });
      ctx.log(`  at the budget's load, ${rate}/s: ack p99 ${mine.ack.p99} ms, pgbench p99 ${theirs.latency.p99} ms`);
    }
    return pairs;
  };

  /** The budget's pairs with PostgreSQL on a core of its own; the CPUs are given back whatever happens. */
  const onSeparateCores = async (): Promise<SeparateCoresLatency | { unavailable: string }> => {
    const [backend] = await ctx.database.query<{ pid: number }>('select pg_backend_pid() as pid');
    const layout = separatePostgres(backend!.pid, [server.pid, ...ctx.generators.map((g) => g.child.pid)]);
    if ('unavailable' in layout) {
      ctx.log(`throughput on separate cores: not measured (${layout.unavailable})`);
      return layout;
    }
    try {
      ctx.log(`throughput on separate cores (${layout.description}): pgbench -N -c ${targets.length}`);
      await ctx.database.query('vacuum');
      const pgbench = await runPgbench(ctx.database.name, targets.length, options.pgbenchSeconds);
      ctx.log(`  pgbench ${pgbench.tps} tps, p99 ${pgbench.latency.p99} ms`);
      const rate = round(pgbench.tps * BUDGET_LOAD, 1);
      return { ...judgeBudgetLoad(rate, await budgetPairs(rate, options.separateCoresPairs)), layout: layout.description, pgbench };
    } finally {
      layout.restore();
    }
  };

  ctx.log('throughput: warm-up');
  await step(options.startRate / 2);

  const rounds: ThroughputRound[] = [];
  let startRate = options.startRate;
  for (let r = 0; r < options.rounds; r += 1) {
    // What autovacuum would have done by now on a default PostgreSQL (some, such as these
    // machines', run without it): earlier rounds' dead rows must not slow the later ones.
    await ctx.database.query('vacuum');
    ctx.log(`throughput round ${r + 1}: pgbench -N -c ${targets.length}`);
    const pgbench = await runPgbench(ctx.database.name, targets.length, options.pgbenchSeconds);
    ctx.log(`  pgbench ${pgbench.tps} tps, p99 ${pgbench.latency.p99} ms`);
    const steps: Step[] = [];
    const stalls: Stall[] = [];
    const { best, limit } = await searchMaxRate((r) => confirmed(r, steps, stalls), {
      ...options,
      startRate,
      minRate: MIN_RATE,
    });
    const maxRate = best?.rate ?? 0;
    const saturationRate = Math.max(
      0,
      ...steps.filter((s) => s.ok === s.sent && s.delivered === s.expectedDeliveries).map((s) => s.achievedRate),
    );
    const ackP99AtMax = best?.ack.p99 ?? Number.NaN;
    const pgbenchAtRate = best ? await runPgbench(ctx.database.name, targets.length, options.pgbenchSeconds, best.rate) : null;
    if (pgbenchAtRate) ctx.log(`  pgbench at ${best!.rate}/s: p99 ${pgbenchAtRate.latency.p99} ms`);
    const budgetRate = round(pgbench.tps * BUDGET_LOAD, 1);
    const pairs = await budgetPairs(budgetRate, options.latencyPairs);
    rounds.push({
      pgbench,
      pgbenchAtRate,
      maxRate,
      ackP99AtMax,
      limit: limit ? { rate: limit.rate, reasons: limit.reasons } : null,
      generatorBound: Boolean(best?.generator.bound || limit?.generator.bound),
      saturationRate,
      serverCpuMsPerUpdate: best?.serverCpuMsPerUpdate ?? Number.NaN,
      postgresCpuMsPerUpdate: best?.postgresCpuMsPerUpdate ?? Number.NaN,
      generatorCpuMsPerUpdate: best?.generatorCpuMsPerUpdate ?? Number.NaN,
      machineCpuMsPerUpdate: best?.machineCpuMsPerUpdate ?? Number.NaN,
      ratio: round(maxRate / pgbench.tps, 3),
      p99OverPgbenchMs: round(ackP99AtMax - (pgbenchAtRate?.latency.p99 ?? Number.NaN)),
      budgetLoad: { rate: budgetRate, pairs },
      stalls,
      steps,
    });
    startRate = Math.max(options.startRate, maxRate * 0.6);
  }
  const separateCores = options.separateCoresPairs > 0 ? await onSeparateCores() : null;
  await writerGen.close('tp-write');
  await watcherGen.close('tp-watch');
  return {
    node: 'single',
    boards: boards.length,
    clients: targets.length,
    rounds,
    tps: median(rounds.map((r) => r.maxRate)),
    ackP99Ms: median(rounds.map((r) => r.ackP99AtMax)),
    pgbenchTps: median(rounds.map((r) => r.pgbench.tps)),
    pgbenchP99Ms: median(rounds.map((r) => r.pgbenchAtRate?.latency.p99 ?? Number.NaN)),
    ratio: median(rounds.map((r) => r.ratio)),
    p99OverPgbenchMs: median(rounds.map((r) => r.p99OverPgbenchMs)),
    saturationRate: median(rounds.map((r) => r.saturationRate)),
    serverCpuMsPerUpdate: round(median(rounds.map((r) => r.serverCpuMsPerUpdate)), 2),
    postgresCpuMsPerUpdate: round(median(rounds.map((r) => r.postgresCpuMsPerUpdate)), 2),
    generatorCpuMsPerUpdate: round(median(rounds.map((r) => r.generatorCpuMsPerUpdate)), 2),
    machineCpuMsPerUpdate: round(median(rounds.map((r) => r.machineCpuMsPerUpdate)), 2),
    pgbenchMachineCpuMsPerTx: round(median(rounds.map((r) => r.pgbench.machineCpuMsPerTx)), 3),
    saturationRatio: median(rounds.map((r) => round(r.saturationRate / r.pgbench.tps, 3))),
    budgetLoad: judgeBudgetLoad(
      median(rounds.map((r) => r.budgetLoad.rate)),
      rounds.flatMap((r) => r.budgetLoad.pairs),
    ),
    separateCores,
    generatorBound: rounds.some((r) => r.generatorBound),
  };
}

/**
 * The sender-ack budget's verdict from the pairs at its load: medians over the pairs whose baseline
 * did not stall (over all of them if every one did, and then not clean).
 */
export function judgeBudgetLoad(rate: number, pairs: LatencyPair[]): BudgetLoadLatency {
  const calm = pairs.filter((p) => !p.baselineStalled);
  const judged = calm.length > 0 ? calm : pairs;
  return {
    rate,
    pairs,
    judged: judged.length,
    ackP99Ms: round(median(judged.map((p) => p.ackP99))),
    pgbenchP99Ms: round(median(judged.map((p) => p.pgbenchP99))),
    p99OverPgbenchMs: round(median(judged.map((p) => p.ackP99 - p.pgbenchP99))),
    clean: calm.length > 0 && pairs.every((p) => p.clean),
    generatorBound: pairs.some((p) => p.generatorBound),
  };
}

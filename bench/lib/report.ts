import type { ConnectionsResult } from '../scenarios/connections.js';
import type { FanoutResult } from '../scenarios/fanout.js';
import type { SnapshotResult } from '../scenarios/snapshot.js';
import { BUDGET_LOAD, type BudgetLoadLatency, type LatencyPair, type ThroughputResult } from '../scenarios/throughput.js';
import { round } from './stats.js';

export interface Budget {
  path: string;
  figure: string;
  baseline: string;
  /** TaskFlow against the baseline: a ratio or a difference. */
  comparison: string;
  budget: string;
  met: boolean | null;
  /** The load generator was the bottleneck somewhere in this measurement. */
  generatorBound: boolean;
}

export interface BenchResults {
  meta: {
    startedAt: string;
    finishedAt: string;
    seconds: number;
    mode: 'quick' | 'full';
    revision: string;
    node: string;
    cpus: number;
    postgres: string;
    argv: string[];
  };
  scenarios: {
    throughput?: ThroughputResult | { error: string };
    fanout?: FanoutResult | { error: string };
    connections?: ConnectionsResult | { error: string };
    snapshot?: SnapshotResult | { error: string };
  };
  budgets: Budget[];
}

const signed = (ms: number) => `${ms >= 0 ? '+' : ''}${ms} ms`;
/** How many pairs the sender-ack budget was judged on, and why not all. */
const judgedPairs = (load: BudgetLoadLatency) =>
  load.judged === load.pairs.length
    ? `${load.pairs.length} pairs`
    : `${load.judged} of ${load.pairs.length} pairs: pgbench stalled in the rest`;
/** The sender-ack budget's row for the pairs at its load (`path` is closed with how many were judged), or why they were not measured. */
function senderAck(path: string, load: BudgetLoadLatency | { unavailable: string }): Budget {
  if ('unavailable' in load)
    return {
      path: `${path})`,
      figure: `not measured: ${load.unavailable}`,
      baseline: '—',
      comparison: '—',
      budget: '≤ +10 ms',
      met: null,
      generatorBound: false,
    };
  return {
    path: `${path}; ${judgedPairs(load)})`,
    figure: `${load.ackP99Ms} ms at ${load.rate}/s (medians)`,
    baseline: `pgbench -N paced at the same rate, p99: ${load.pgbenchP99Ms} ms`,
    comparison: `${signed(load.p99OverPgbenchMs)} (median of the differences)`,
    budget: '≤ +10 ms',
    met: load.p99OverPgbenchMs <= 10 && load.clean,
    generatorBound: load.generatorBound,
  };
}
/** A row of a table of pairs at the budget's load. */
const pairRow = (label: string, rate: number, pair: LatencyPair) =>
  `| ${label} | ${rate}/s | ${pair.ackP99} ms${pair.generatorBound ? ' (gen-bound)' : ''} | ${pair.pgbenchP99} ms${pair.baselineStalled ? ' (stalled: not judged)' : ''} | ` +
  `${signed(round(pair.ackP99 - pair.pgbenchP99))} | ${pair.clean ? 'yes' : '**no**'} |`;
const ok = <T extends object>(value: T | { error: string } | undefined): T | null => (value && !('error' in value) ? (value as T) : null);
const kb = (bytes: number) => `${round(bytes / 1024, 1)} KB`;
const KB = 1024;
/** What a server wrote per socket: bytes and write calls. */
const written = (per: { bytes: number; calls: number } | undefined) => (per ? `${kb(per.bytes)} in ${per.calls} writes` : '—');

/** DESIGN §9's table, filled with this run's figures. */
export function budgets(scenarios: BenchResults['scenarios']): Budget[] {
  const list: Budget[] = [];
  const tp = ok<ThroughputResult>(scenarios.throughput);
  if (tp) {
    list.push({
      path: `task mutation, throughput (${tp.clients} writers on ${tp.boards} boards, 1 node)`,
      figure: `${tp.tps} updates/s (saturation: ${tp.saturationRate}/s, ${round(tp.saturationRatio * 100, 1)}%)`,
      baseline: `pgbench -N -c ${tp.clients}: ${tp.pgbenchTps} tps`,
      comparison: `${round(tp.ratio * 100, 1)}%`,
      budget: '≥ 40%, every event delivered',
      met: tp.ratio >= 0.4,
      generatorBound: tp.generatorBound,
    });
    const share = `${round(BUDGET_LOAD * 100, 0)}% of pgbench's tps`;
    list.push(senderAck(`task mutation, sender ack p99 (at ${share}, the throughput budget's load`, tp.budgetLoad));
    const apart = tp.separateCores;
    if (apart)
      list.push(senderAck(`task mutation, sender ack p99 with PostgreSQL on a core of its own (at ${share} in that layout`, apart));
    list.push({
      path: "task mutation, sender ack p99 at the max rate (for reference: near 50 ms by the max rate's definition)",
      figure: `${tp.ackP99Ms} ms`,
      baseline: `pgbench -N at the same rate, p99: ${tp.pgbenchP99Ms} ms`,
      comparison: signed(tp.p99OverPgbenchMs),
      budget: '—',
      met: null,
      generatorBound: tp.generatorBound,
    });
  }
  const fo = ok<FanoutResult>(scenarios.fanout);
  if (fo) {
    list.push({
      path: `fan-out, due time → last of ${fo.viewersPerBoard} viewers on 2 nodes, p99 (${fo.rate} mutations/s)`,
      figure: `${fo.taskflow.p99} ms (${fo.taskflow.losses} lost, ${fo.taskflow.duplicates} duplicated)`,
      baseline: `socket.io + Redis relay: ${fo.relay.p99} ms`,
      comparison: `×${round(fo.ratio, 2)}`,
      budget: '≤ ×2',
      met: fo.ratio <= 2 && fo.taskflow.losses === 0 && fo.taskflow.duplicates === 0,
      generatorBound: fo.generatorBound,
    });
  }
  const cn = ok<ConnectionsResult>(scenarios.connections);
  if (cn) {
    const bound = cn.taskflow.generatorBound || cn.relay.generatorBound;
    list.push({
      path: `idle authenticated socket joined to a board, heap (${cn.taskflow.opened} on 1 node)`,
      figure: kb(cn.taskflow.heapPerSocket),
      baseline: `plain socket.io connection: ${kb(cn.relay.heapPerSocket)}`,
      comparison: `×${cn.heapRatio}`,
      budget: '≤ 12 KB',
      met: cn.taskflow.heapPerSocket <= 12 * KB && cn.taskflow.failed === 0,
      generatorBound: bound,
    });
    list.push({
      path: 'idle authenticated socket joined to a board, RSS',
      figure: kb(cn.taskflow.rssPerSocket),
      baseline: `plain socket.io connection: ${kb(cn.relay.rssPerSocket)}`,
      comparison: `×${cn.rssRatio}`,
      budget: '≤ 20 KB',
      met: cn.taskflow.rssPerSocket <= 20 * KB && cn.taskflow.failed === 0,
      generatorBound: bound,
    });
    list.push({
      path: 'connect + authenticate + `board:join`',
      figure: `${cn.taskflow.rate} sockets/s`,
      baseline: `plain connect + join: ${cn.relay.rate} sockets/s`,
      comparison: `${round((cn.taskflow.rate / cn.relay.rate) * 100, 1)}%`,
      budget: '≥ 500 sockets/s per node',
      met: cn.taskflow.rate >= 500 && cn.taskflow.failed === 0,
      generatorBound: bound,
    });
  }
  const sn = ok<SnapshotResult>(scenarios.snapshot);
  if (sn) {
    list.push({
      path: `\`board:join\` snapshot of a ${sn.tasks}-task board, p99`,
      figure: `${sn.latency.p99} ms (p50 ${sn.latency.p50})`,
      baseline: '—',
      comparison: '—',
      budget: '≤ 50 ms',
      met: sn.latency.p99 <= 50 && sn.failed === 0,
      generatorBound: sn.generator.bound,
    });
  }
  return list;
}

export function markdown(results: BenchResults): string {
  const { meta, scenarios } = results;
  const lines: string[] = [
    `# TaskFlow benchmark (${meta.mode}), ${meta.startedAt}, revision ${meta.revision}`,
    '',
    `${meta.cpus} cores, Node ${meta.node}, ${meta.postgres}; ${round(meta.seconds, 0)} s. Every figure is compared with a baseline`,
    'measured in the same run; "gen-bound" marks a measurement where the load generator itself lagged (loop delay p99 or',
    'send lag p99 over 10 ms), so TaskFlow may be better than it shows.',
    '',
    '| path | TaskFlow | baseline (same run) | vs baseline | budget (DESIGN §9) | met |',
    '|---|---|---|---|---|---|',
  ];
  for (const b of results.budgets) {
    const met = b.met === null ? '—' : b.met ? 'met' : '**missed**';
    lines.push(
      `| ${b.path} | ${b.figure} | ${b.baseline} | ${b.comparison} | ${b.budget} | ${met}${b.generatorBound ? ' (gen-bound)' : ''} |`,
    );
  }
  for (const [name, value] of Object.entries(scenarios)) {
    if (value && 'error' in value) lines.push('', `**${name} failed:** ${value.error.split('\n')[0]}`);
  }

  const tp = ok<ThroughputResult>(scenarios.throughput);
  if (tp) {
    lines.push(
      '',
      '## Mutation throughput',
      '',
      'Max rate: the highest offered rate with every ack ok, ack p99 < 50 ms and every event delivered. Saturation: the most',
      'acks per second any step got with every ack ok and every event delivered, whatever the latency. CPU per update, at',
      'the max rate (user + system time from /proc): the server process, the PostgreSQL processes, the load generators, and the',
      "whole machine (the kernel too); for pgbench, the machine's per transaction over its run. The latency baseline is pgbench -N",
      "paced at TaskFlow's max rate (`-R`, open loop, latency from the scheduled start), the same load on the same clients.",
      'A rate that failed twice on its slow tail alone (every ack ok, p50 under 10 ms) while pgbench paced at that rate was',
      'over 50 ms at p99 too is set aside as a stall of the machine, neither passed nor failed.',
      '',
      '| round | pgbench tps | machine CPU per tx | TaskFlow max rate | ratio | ack p99 there | pgbench p99 at that rate | saturation | CPU per update: server, PostgreSQL, generators, machine | first failing rate |',
    );
    lines.push('|---|---|---|---|---|---|---|---|---|---|');
    tp.rounds.forEach((r, i) =>
      lines.push(
        `| ${i + 1} | ${r.pgbench.tps} | ${r.pgbench.machineCpuMsPerTx} ms | ${r.maxRate}/s | ${round(r.ratio * 100, 1)}% | ` +
          `${r.ackP99AtMax} ms | ${r.pgbenchAtRate ? `${r.pgbenchAtRate.latency.p99} ms` : '—'} | ` +
          `${r.saturationRate}/s | ${r.serverCpuMsPerUpdate} ms, ${r.postgresCpuMsPerUpdate} ms, ${r.generatorCpuMsPerUpdate} ms, ${r.machineCpuMsPerUpdate} ms | ` +
          `${r.limit ? `${r.limit.rate}/s: ${r.limit.reasons.join('; ')}` : 'none (lower bound)'}${r.generatorBound ? ' (gen-bound)' : ''}` +
          `${r.stalls.map((stall) => `; ${stall.rate}/s set aside, the machine stalled (pgbench paced there: p99 ${stall.pgbenchP99} ms)`).join('')} |`,
      ),
    );
    lines.push(
      '',
      `The sender ack p99 at the throughput budget's load, ${round(BUDGET_LOAD * 100, 0)}% of each round's pgbench tps: a TaskFlow step and pgbench -N`,
      'paced at the same rate, in turn (each first every other time), both with Poisson arrivals (as `-R` schedules);',
      'the budget is judged on the median of the differences, over the pairs where pgbench did not stall (its p99 under',
      '50 ms: a stall in its turn would flatter TaskFlow).',
      '',
      '| round | rate | TaskFlow ack p99 | pgbench p99 | difference | every ack ok, every event delivered |',
      '|---|---|---|---|---|---|',
    );
    tp.rounds.forEach((r, i) => lines.push(...r.budgetLoad.pairs.map((pair) => pairRow(String(i + 1), r.budgetLoad.rate, pair))));
    const apart = tp.separateCores;
    if (apart && !('unavailable' in apart)) {
      lines.push(
        '',
        `The same pairs after the rounds with PostgreSQL on a core of its own (${apart.layout}), as a deployment keeps the`,
        "database off the application's CPUs: pgbench -N -c " +
          `${tp.clients} read ${apart.pgbench.tps} tps there (p99 ${apart.pgbench.latency.p99} ms), so the budget's load was ${apart.rate}/s.`,
        '',
        '| layout | rate | TaskFlow ack p99 | pgbench p99 | difference | every ack ok, every event delivered |',
        '|---|---|---|---|---|---|',
        ...apart.pairs.map((pair) => pairRow('PostgreSQL apart', apart.rate, pair)),
      );
    }
  }
  const fo = ok<FanoutResult>(scenarios.fanout);
  if (fo) {
    lines.push(
      '',
      '## Fan-out',
      '',
      `${fo.boards} boards × ${fo.viewersPerBoard} viewers, ${fo.rate} mutations/s for ${fo.durationMs / 1000} s per run.`,
      '',
    );
    lines.push(
      "TaskFlow's latency holds the mutation (sender ack p99) and then the broadcast (ack → last viewer, per message).",
      '',
      '| round | side | last viewer p50 | p99 | max | every delivery p99 | sender ack p99 | ack → last viewer p99 | lost | duplicated |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    fo.rounds.forEach((r, i) => {
      for (const run of [r.taskflow, r.relay]) {
        lines.push(
          `| ${i + 1} | ${run.side} | ${run.lastViewer.p50} ms | ${run.lastViewer.p99} ms | ${run.lastViewer.max} ms | ${run.delivery.p99} ms | ` +
            `${run.ack ? `${run.ack.p99} ms` : '—'} | ${run.afterAck ? `${run.afterAck.p99} ms` : '—'} | ${run.losses} | ${run.duplicates} |`,
        );
      }
    });
  }
  const cn = ok<ConnectionsResult>(scenarios.connections);
  if (cn) {
    lines.push('', '## Connections', '', `${cn.sockets} sockets over ${cn.boards} boards on one node.`, '');
    lines.push(
      '| side | opened | failed | sockets/s | server CPU per socket | written per socket | heap/socket | heap+external/socket | RSS/socket | idle CPU |',
      '|---|---|---|---|---|---|---|---|---|---|',
    );
    for (const run of [cn.taskflow, cn.relay]) {
      lines.push(
        `| ${run.side} | ${run.opened} | ${run.failed} | ${run.rate} | ${run.serverCpuMsPerSocket} ms | ` +
          `${written(run.writtenPerSocket)} | ${kb(run.heapPerSocket)} | ${kb(run.heapAndExternalPerSocket)} | ` +
          `${kb(run.rssPerSocket)} | ${round(run.idleCpu * 100, 1)}% of a core |`,
      );
    }
  }
  const sn = ok<SnapshotResult>(scenarios.snapshot);
  if (sn) {
    lines.push(
      '',
      '## Snapshot',
      '',
      `A ${sn.tasks}-task board is ${kb(sn.bytes)} as JSON. ${sn.serial.count} joins one after another: mean ${sn.serial.mean} ms, ` +
        `max ${sn.serial.max} ms, ${sn.serverCpuMsPerJoin} ms of server CPU each. Then ${sn.latency.count} open-loop joins at ${sn.rate}/s (a quarter of the time busy, by that mean, ` +
        `at most 8/s): p50 ${sn.latency.p50} ms, p90 ${sn.latency.p90} ms, p99 ${sn.latency.p99} ms, max ${sn.latency.max} ms.`,
      '',
      `Rejoins, as a client that reconnects: \`board:join\` with a \`sinceSeq\` ${sn.rejoin.events} events behind (${kb(sn.rejoin.bytes)}), ` +
        `no budget in DESIGN §9. ${sn.rejoin.serial.count} one after another: mean ${sn.rejoin.serial.mean} ms, ${sn.rejoin.serverCpuMsPerJoin} ms of server CPU each. ` +
        `Then ${sn.rejoin.latency.count} open-loop at ${sn.rejoin.rate}/s: p50 ${sn.rejoin.latency.p50} ms, p99 ${sn.rejoin.latency.p99} ms, max ${sn.rejoin.latency.max} ms` +
        `${sn.rejoin.failed ? `, ${sn.rejoin.failed} failed` : ''}.`,
    );
  }
  return `${lines.join('\n')}\n`;
}

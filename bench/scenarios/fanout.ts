import type { NodeServer } from '../lib/children.js';
import { sleep } from '../lib/clock.js';
import { type Board, createTasks } from '../lib/seed.js';
import { median, round, summarize, type Summary } from '../lib/stats.js';
import type { CollectResult, GeneratorHealth, Protocol, SendTarget, SocketSpec } from '../loadgen/protocol.js';
import { type BenchContext, nextTag } from './context.js';

export interface FanoutOptions {
  /** Viewers per board, half on each node. */
  viewers: number;
  rounds: number;
  /** Messages per second over all boards. */
  rate: number;
  durationMs: number;
}

export interface FanoutRun {
  side: Protocol;
  messages: number;
  /** Due time → receipt by the last of the board's viewers, over messages every viewer got. */
  lastViewer: Summary;
  /** Due time → receipt, over every delivery. */
  delivery: Summary;
  /** TaskFlow only: the sender's ack (the mutation, committed) → the last viewer, per message: the broadcast's own share. */
  afterAck?: Summary;
  /** TaskFlow only: due time → the sender's ack. */
  ack?: Summary;
  expectedDeliveries: number;
  losses: number;
  duplicates: number;
  refused: number;
  generators: GeneratorHealth[];
  generatorBound: boolean;
}

export interface FanoutResult {
  nodes: 2;
  boards: number;
  viewersPerBoard: number;
  rate: number;
  durationMs: number;
  rounds: Array<{ taskflow: FanoutRun; relay: FanoutRun; ratio: number }>;
  taskflow: { p50: number; p99: number; max: number; losses: number; duplicates: number; ackP99: number; afterAckP99: number };
  relay: { p50: number; p99: number; max: number; losses: number; duplicates: number };
  ratio: number;
  generatorBound: boolean;
}

/**
 * Writers on one generator, each board's viewers split over two more (one per node); TaskFlow's
 * two nodes and the bare relay pair take turns, the order alternating from round to round.
 */
export async function fanout(
  ctx: BenchContext,
  nodes: [NodeServer, NodeServer],
  relays: [NodeServer, NodeServer],
  boards: Board[],
  options: FanoutOptions,
): Promise<FanoutResult> {
  const [writerGen, viewGenA, viewGenB] = ctx.generators as [
    BenchContext['generators'][0],
    BenchContext['generators'][0],
    BenchContext['generators'][0],
  ];
  const users = ctx.fixture.users;
  const targets: SendTarget[] = [];
  for (const board of boards) {
    const [taskId] = await createTasks(nodes[0].url, ctx.fixture.owner.token, board, 1);
    targets.push({ board: board.projectId, taskId });
  }
  const half = options.viewers / 2;
  const viewerSpecs = (protocol: Protocol): SocketSpec[] =>
    boards.flatMap((board) =>
      Array.from({ length: half }, (_, v) => ({
        board: board.projectId,
        ...(protocol === 'taskflow' ? { token: users[v % users.length]!.token } : {}),
      })),
    );
  const sides: Record<Protocol, [NodeServer, NodeServer]> = { taskflow: nodes, relay: relays };
  for (const protocol of ['taskflow', 'relay'] as const) {
    const [a, b] = sides[protocol];
    // Writers alternate between the nodes, so every board's messages cross Redis for half its viewers.
    for (const [n, node] of [a, b].entries()) {
      await writerGen.connect(
        {
          group: `fo-write-${protocol}-${n}`,
          url: node.url,
          protocol,
          sockets: boards.filter((_, i) => i % 2 === n).map(() => (protocol === 'taskflow' ? { token: ctx.fixture.owner.token } : {})),
          concurrency: 8,
          timeoutMs: 10_000,
        },
        60_000,
      );
    }
    for (const [generator, node] of [
      [viewGenA, a],
      [viewGenB, b],
    ] as const) {
      const opened = await generator.connect(
        { group: `fo-view-${protocol}`, url: node.url, protocol, sockets: viewerSpecs(protocol), concurrency: 16, timeoutMs: 10_000 },
        60_000,
      );
      if (opened.failed) throw new Error(`fan-out viewers: ${opened.failed} failed: ${opened.errors.join('; ')}`);
    }
  }
  await sleep(1000); // let the joins' presence broadcasts pass

  let template: unknown = null;
  const run = async (protocol: Protocol): Promise<FanoutRun> => {
    const tag = nextTag('fo');
    await Promise.all([viewGenA.watch(`fo-view-${protocol}`, tag), viewGenB.watch(`fo-view-${protocol}`, tag)]);
    // Each node's writers send their share of the rate at once; together they make `rate`.
    const writerTargets = [0, 1].map((n) => targets.filter((_, i) => i % 2 === n));
    const sends = await Promise.all(
      writerTargets.map((list, n) =>
        list.length === 0
          ? null
          : writerGen.send({
              group: `fo-write-${protocol}-${n}`,
              tag: `${tag}`,
              protocol,
              targets: list,
              rate: (options.rate * list.length) / targets.length,
              durationMs: options.durationMs,
              ackTimeoutMs: 5000,
              template,
              perMessage: true,
            }),
      ),
    );
    const okPerBoard: Record<string, number> = {};
    let refused = 0;
    for (const sent of sends) {
      if (!sent) continue;
      Object.assign(okPerBoard, sent.okPerBoard);
      refused += sent.failed + sent.timedOut;
      if (protocol === 'taskflow' && sent.sampleEvent) template = sent.sampleEvent;
    }
    const collected = await Promise.all([
      viewGenA.collect({ group: `fo-view-${protocol}`, tag, expected: okPerBoard, waitMs: 3000 }),
      viewGenB.collect({ group: `fo-view-${protocol}`, tag, expected: okPerBoard, waitMs: 3000 }),
    ]);
    const acks = new Map(sends.flatMap((sent) => sent?.acks ?? []));
    const stats = deliveries(collected, okPerBoard, options.viewers, protocol === 'taskflow' ? acks : null);
    const generators = [...sends.flatMap((sent) => (sent ? [sent.health] : []))];
    return {
      side: protocol,
      ...stats,
      refused,
      generators,
      generatorBound: generators.some((health) => health.bound),
    };
  };

  // A first TaskFlow run warms both sides up and gives the relay a real board event to carry.
  ctx.log('fan-out: warm-up');
  await run('taskflow');
  await run('relay');

  const rounds: FanoutResult['rounds'] = [];
  for (let r = 0; r < options.rounds; r += 1) {
    const order: Protocol[] = r % 2 === 0 ? ['taskflow', 'relay'] : ['relay', 'taskflow'];
    const done: Partial<Record<Protocol, FanoutRun>> = {};
    for (const protocol of order) {
      done[protocol] = await run(protocol);
      const d = done[protocol]!;
      ctx.log(
        `  round ${r + 1} ${protocol}: last viewer p50 ${d.lastViewer.p50} p99 ${d.lastViewer.p99} max ${d.lastViewer.max} ms, ` +
          `${d.losses} lost, ${d.duplicates} duplicated${d.afterAck ? `; ack p99 ${d.ack!.p99}, ack → last viewer p99 ${d.afterAck.p99} ms` : ''}` +
          `${d.generatorBound ? ' [generator-bound]' : ''}`,
      );
      await sleep(500);
    }
    rounds.push({
      taskflow: done.taskflow!,
      relay: done.relay!,
      ratio: round(done.taskflow!.lastViewer.p99 / done.relay!.lastViewer.p99, 3),
    });
  }
  for (const generator of [writerGen, viewGenA, viewGenB]) {
    for (const group of [
      'fo-view-taskflow',
      'fo-view-relay',
      'fo-write-taskflow-0',
      'fo-write-taskflow-1',
      'fo-write-relay-0',
      'fo-write-relay-1',
    ])
      await generator.close(group);
  }
  const side = (protocol: Protocol) => ({
    p50: median(rounds.map((r) => r[protocol].lastViewer.p50)),
    p99: median(rounds.map((r) => r[protocol].lastViewer.p99)),
    max: Math.max(...rounds.map((r) => r[protocol].lastViewer.max)),
    losses: rounds.reduce((total, r) => total + r[protocol].losses, 0),
    duplicates: rounds.reduce((total, r) => total + r[protocol].duplicates, 0),
    ackP99: median(rounds.map((r) => r[protocol].ack?.p99 ?? Number.NaN)),
    afterAckP99: median(rounds.map((r) => r[protocol].afterAck?.p99 ?? Number.NaN)),
  });
  return {
    nodes: 2,
    boards: boards.length,
    viewersPerBoard: options.viewers,
    rate: options.rate,
    durationMs: options.durationMs,
    rounds,
    taskflow: side('taskflow'),
    relay: side('relay'),
    ratio: median(rounds.map((r) => r.ratio)),
    generatorBound: rounds.some((r) => r.taskflow.generatorBound || r.relay.generatorBound),
  };
}

/** Joins what every viewer got: per message, the latency of its last viewer; losses and duplicates. */
function deliveries(
  collected: CollectResult[],
  okPerBoard: Record<string, number>,
  viewersPerBoard: number,
  acks: Map<string, number> | null,
) {
  const perMessage = new Map<string, { count: number; last: number }>();
  const all: number[] = [];
  let duplicates = 0;
  let delivered = 0;
  for (const result of collected) {
    for (const socket of result.sockets) {
      duplicates += socket.duplicates;
      delivered += socket.received.length;
      for (const [id, ms] of socket.received) {
        all.push(ms);
        const key = `${socket.board}/${id}`;
        const seen = perMessage.get(key);
        if (seen) {
          seen.count += 1;
          seen.last = Math.max(seen.last, ms);
        } else perMessage.set(key, { count: 1, last: ms });
      }
    }
  }
  const completeEntries = [...perMessage].filter(([, m]) => m.count === viewersPerBoard);
  const complete = completeEntries.map(([, m]) => m.last);
  const afterAck = acks ? completeEntries.flatMap(([key, m]) => (acks.has(key) ? [m.last - acks.get(key)!] : [])) : null;
  const messages = Object.values(okPerBoard).reduce((a, b) => a + b, 0);
  const expectedDeliveries = messages * viewersPerBoard;
  return {
    messages,
    lastViewer: summarize(complete),
    delivery: summarize(all),
    ...(acks && afterAck ? { ack: summarize(acks.values()), afterAck: summarize(afterAck) } : {}),
    expectedDeliveries,
    losses: expectedDeliveries - delivered,
    duplicates,
  };
}

// `npm run bench:compare -- --against DIR [--rate 1500] [--pairs 10] [--viewers 1]`
// The throughput scenario's load at one rate on two builds of the server, in turn: the checkout in
// DIR (a `git worktree` of the revision to compare with, its node_modules linked to this one's) and
// this one, on one database; see bench/README.md.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cpuMeter, killAllChildren, type NodeServer, startNodeServer, TASKFLOW_NODE_ARGS, taskflowEnv } from './lib/children.js';
import { createBenchDatabase } from './lib/database.js';
import { type Board, createBoards, createTasks, type Fixture, seedOrg } from './lib/seed.js';
import { median, round, summarize } from './lib/stats.js';
import { type Generator, startGenerator, stopGenerators } from './lib/workers.js';
import type { SendTarget } from './loadgen/protocol.js';

const { values: args } = parseArgs({
  options: {
    against: { type: 'string' },
    rate: { type: 'string', default: '1500' },
    pairs: { type: 'string', default: '10' },
    viewers: { type: 'string', default: '1' },
  },
});
if (!args.against) {
  console.error(`usage: npm run bench:compare -- --against DIR [--rate 1500] [--pairs 10] [--viewers 1]
  DIR: a checkout of the revision to compare with, e.g.
  git worktree add /tmp/before <revision> && ln -s "$PWD/node_modules" /tmp/before/`);
  process.exit(2);
}
const RATE = Number(args.rate);
const PAIRS = Number(args.pairs);
/** The sockets watching each board, which get every event of its changes. */
const VIEWERS = Number(args.viewers);
const BOARDS = 4;
const WRITERS_PER_BOARD = 2;
const STEP_MS = 4000;

interface Side {
  name: 'before' | 'after';
  server: NodeServer;
  targets: SendTarget[];
}

interface StepResult {
  p50: number;
  p99: number;
  /** The server's CPU time, PostgreSQL's and the whole machine's (the generators and the kernel's work too), per update (ms). */
  serverCpu: number;
  postgresCpu: number;
  machineCpu: number;
  clean: boolean;
}
const MEASURES = ['p50', 'p99', 'serverCpu', 'postgresCpu', 'machineCpu'] as const;
type Measure = (typeof MEASURES)[number];

/** Connects a side's writers (one task each) and `VIEWERS` watchers per board, in groups named after it. */
async function prepare(side: Omit<Side, 'targets'>, fixture: Fixture, boards: Board[], [writers, watchers]: Generator[]): Promise<Side> {
  const targets: SendTarget[] = [];
  for (const board of boards)
    for (const taskId of await createTasks(side.server.url, fixture.owner.token, board, WRITERS_PER_BOARD))
      targets.push({ board: board.projectId, taskId });
  const group = (sockets: Array<{ token: string; board?: string }>) =>
    ({ url: side.server.url, protocol: 'taskflow', sockets, concurrency: 8, timeoutMs: 10_000 }) as const;
  await writers!.connect({ group: `${side.name}-write`, ...group(targets.map((_, i) => ({ token: fixture.users[i]!.token }))) }, 60_000);
  await watchers!.connect(
    {
      group: `${side.name}-watch`,
      ...group(boards.flatMap((b) => Array.from({ length: VIEWERS }, () => ({ token: fixture.owner.token, board: b.projectId })))),
    },
    60_000,
  );
  return { ...side, targets };
}

let steps = 0;
async function step(side: Side, [writers, watchers]: Generator[], durationMs = STEP_MS): Promise<StepResult> {
  const tag = `cmp${steps++}`;
  await watchers!.watch(`${side.name}-watch`, tag);
  const cpu = cpuMeter([side.server.pid]);
  const sent = await writers!.send({
    group: `${side.name}-write`,
    tag,
    protocol: 'taskflow',
    targets: side.targets,
    rate: RATE,
    poisson: true,
    durationMs,
    ackTimeoutMs: 5000,
  });
  const seen = await watchers!.collect({ group: `${side.name}-watch`, tag, expected: sent.okPerBoard, waitMs: 3000 });
  const used = cpu();
  const perUpdate = (seconds: number) => round((seconds * 1000) / Math.max(1, sent.ok), 3);
  const delivered = seen.sockets.reduce((total, socket) => total + socket.received.length, 0);
  const ack = summarize(sent.latencies);
  return {
    p50: ack.p50,
    p99: ack.p99,
    serverCpu: perUpdate(used.processes),
    postgresCpu: perUpdate(used.postgres),
    machineCpu: perUpdate(used.machine),
    clean: sent.ok === sent.sent && delivered === sent.ok * VIEWERS && !sent.health.bound,
  };
}

async function main(): Promise<void> {
  const database = await createBenchDatabase();
  const workDir = mkdtempSync(path.join(tmpdir(), 'taskflow-compare-'));
  const env = taskflowEnv(database.url);
  const servers: NodeServer[] = [];
  const generators = [startGenerator('writers'), startGenerator('watchers')];
  try {
    const start = async (name: Side['name'], script: string) => {
      const server = await startNodeServer(name, { script, env, workDir, nodeArgs: TASKFLOW_NODE_ARGS });
      servers.push(server);
      return server;
    };
    const before = await start('before', path.resolve(args.against!, 'server/main.ts')); // it migrates the database
    const after = await start('after', 'server/main.ts');
    const fixture = await seedOrg(after.url, BOARDS * WRITERS_PER_BOARD - 1);
    const boards = await createBoards(fixture, 2 * BOARDS);
    const sides = [
      await prepare({ name: 'before', server: before }, fixture, boards.slice(0, BOARDS), generators),
      await prepare({ name: 'after', server: after }, fixture, boards.slice(BOARDS), generators),
    ];
    for (const side of [...sides, ...sides]) await step(side, generators, 2000); // warm-up
    await database.query('vacuum');
    const results: Record<Side['name'], Array<StepResult & { first: boolean }>> = { before: [], after: [] };
    for (let p = 0; p < PAIRS; p += 1) {
      const order = p % 2 === 0 ? sides : [...sides].reverse();
      for (const [i, side] of order.entries()) results[side.name].push({ ...(await step(side, generators)), first: i === 0 });
      const [b, a] = [results.before.at(-1)!, results.after.at(-1)!];
      const show = (r: StepResult) =>
        `p50 ${r.p50} p99 ${r.p99} ms, CPU per update ${r.serverCpu} (server) ${r.postgresCpu} (PostgreSQL) ${r.machineCpu} (machine)`;
      console.log(`pair ${p + 1}: before ${show(b)} | after ${show(a)}${b.clean && a.clean ? '' : ' (not clean)'}`);
    }
    // A step's place in its pair can matter on this machine, so each place is also compared with itself.
    const medianOf = (name: Side['name'], first: boolean, key: Measure) =>
      median(results[name].filter((r) => r.first === first).map((r) => r[key]));
    for (const key of MEASURES) {
      const places = [true, false].map(
        (first) => `${first ? 'first' : 'second'} ×${round(medianOf('after', first, key) / medianOf('before', first, key))}`,
      );
      const differences = results.after.map((r, i) => r[key] - results.before[i]![key]);
      console.log(
        `${key} at ${RATE}/s, after against before: median of differences ${round(median(differences), 3)} ms; by place ${places.join(', ')}`,
      );
    }
  } finally {
    await stopGenerators(generators);
    await Promise.all(servers.map((server) => server.stop()));
    await database.drop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    killAllChildren();
    process.exit(1);
  },
);

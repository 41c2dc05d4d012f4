// `npm run bench [-- --quick] [--out DIR] [--only throughput,fanout,connections,snapshot] [--cpu-prof] [--shared-cores]`
// DESIGN §9's measurements, each against a baseline taken in the same run; see bench/README.md.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startRedis, type RedisProcess } from '../test/support/processes.js';
import { killAllChildren, type NodeServer, ROOT, startNodeServer, TASKFLOW_NODE_ARGS, taskflowEnv } from './lib/children.js';
import { type BenchDatabase, createBenchDatabase, initPgbench } from './lib/database.js';
import { type BenchResults, budgets, markdown } from './lib/report.js';
import { createBoards, seedOrg } from './lib/seed.js';
import { type Generator, startGenerator, stopGenerators } from './lib/workers.js';
import { connections } from './scenarios/connections.js';
import type { BenchContext } from './scenarios/context.js';
import { fanout } from './scenarios/fanout.js';
import { snapshot } from './scenarios/snapshot.js';
import { throughput } from './scenarios/throughput.js';

const SCENARIOS = ['connections', 'snapshot', 'throughput', 'fanout'] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join(ROOT, 'bench/results') },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    // No pairs with PostgreSQL on a core of its own (a full run has them where it may move PostgreSQL's processes).
    'shared-cores': { type: 'boolean', default: false },
  },
});
const quick = args.quick!;
const only = new Set<Scenario>(args.only ? (args.only.split(',') as Scenario[]) : SCENARIOS);
for (const name of only) if (!SCENARIOS.includes(name)) throw new Error(`unknown scenario ${name}; one of ${SCENARIOS.join(', ')}`);
const outDir = path.resolve(args.out!);

const SIZES = quick
  ? {
      connections: { sockets: 1000, concurrency: 32, settleMs: 500, idleCpuMs: 2000 },
      snapshot: {
        tasks: 100,
        sockets: 2,
        maxRate: 10,
        utilisation: 0.25,
        samples: 15,
        rejoin: { behind: 5, serial: 20, maxRate: 50, samples: 50 },
      },
      throughput: {
        clients: 8,
        rounds: 1,
        stepMs: 1000,
        pgbenchSeconds: 2,
        startRate: 20,
        growth: 2,
        maxSteps: 3,
        refinements: 0,
        latencyPairs: 1,
        separateCoresPairs: 0,
      },
      throughputBoards: 4,
      fanout: { viewers: 20, rounds: 1, rate: 20, durationMs: 1500 },
      fanoutBoards: 2,
    }
  : {
      // Idle CPU over one socket.io ping interval (25 s), so that every socket's heartbeat counts
      // once on both sides: a shorter window caught pings or none depending on how long the ramp took.
      connections: { sockets: 10_000, concurrency: 64, settleMs: 2000, idleCpuMs: 25_000 },
      snapshot: {
        tasks: 1000,
        sockets: 4,
        maxRate: 8,
        utilisation: 0.25,
        samples: 100,
        rejoin: { behind: 5, serial: 300, maxRate: 200, samples: 1000 },
      },
      throughput: {
        clients: 8,
        rounds: 3,
        stepMs: 4000,
        pgbenchSeconds: 5,
        startRate: 20,
        growth: 1.5,
        maxSteps: 14,
        refinements: 2,
        latencyPairs: 2,
        separateCoresPairs: args['shared-cores'] ? 0 : 6,
      },
      throughputBoards: 4,
      fanout: { viewers: 20, rounds: 3, rate: 25, durationMs: 8000 },
      fanoutBoards: 5,
    };
const SOCKETS_PER_BOARD = 20;

const started = new Date();
/** The code measured: the commit, and whether server/, shared/ or migrations/ differed from it. */
function revision(): string {
  try {
    const git = (...gitArgs: string[]) => execFileSync('git', gitArgs, { cwd: ROOT, encoding: 'utf8', timeout: 10_000 }).trim();
    const dirty = git('status', '--porcelain', '--', 'server', 'shared', 'migrations') !== '';
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ' (with uncommitted changes)' : ''}`;
  } catch {
    return 'unknown';
  }
}
const measured = revision();
const log = (message: string) => console.log(`[${((Date.now() - started.getTime()) / 1000).toFixed(1).padStart(6)} s] ${message}`);

/** Runs one scenario, keeping its error in the results instead of ending the run. */
async function attempt<T>(name: Scenario, work: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await work();
  } catch (error) {
    log(`${name} failed: ${(error as Error).stack ?? error}`);
    return { error: (error as Error).stack ?? String(error) };
  }
}

async function main(): Promise<number> {
  const workDir = mkdtempSync(path.join(tmpdir(), 'taskflow-bench-'));
  const profileDir = path.join(outDir, 'profiles');
  const nodeArgs = [...TASKFLOW_NODE_ARGS, ...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])];
  const scenarios: BenchResults['scenarios'] = {};
  let database: BenchDatabase | undefined;
  const forget = () => {
    activeDatabase = undefined;
  };
  let redis: RedisProcess | undefined;
  const servers: NodeServer[] = [];
  let generators: Generator[] = [];
  let postgres: string | undefined;
  const stopServers = async () => {
    await Promise.all(servers.splice(0).map((server) => server.stop()));
  };
  try {
    log(`${quick ? 'quick' : 'full'} run: ${[...only].join(', ')}`);
    database = await createBenchDatabase();
    activeDatabase = database;
    postgres = `PostgreSQL ${(await database.query<{ server_version: string }>('show server_version'))[0]?.server_version ?? '?'}`;
    if (only.has('throughput')) await initPgbench(database.name);
    const node = (name: string, extra: Record<string, string> = {}) =>
      startNodeServer(name, { script: 'server/main.ts', env: { ...taskflowEnv(database!.url), ...extra }, nodeArgs, workDir });
    const relayNode = (name: string, extra: Record<string, string> = {}) =>
      startNodeServer(name, { script: 'bench/relay-server.ts', env: extra, workDir });

    log('starting TaskFlow node 1 (migrates the fresh database)');
    const single = await node('taskflow-1');
    servers.push(single);

    // Redis, two TaskFlow nodes and two relays on it. A full run starts them once node 1 is gone,
    // so that their start-up does not disturb the other scenarios; a quick one at once, to be quick.
    const startCluster = async (): Promise<NodeServer[]> => {
      log('starting Redis, two TaskFlow nodes and two relays on it');
      redis = await startRedis();
      const url = redis.url;
      return Promise.all(
        [
          node('taskflow-a', { REDIS_URL: url }),
          node('taskflow-b', { REDIS_URL: url }),
          relayNode('relay-a', { REDIS_URL: url }),
          relayNode('relay-b', { REDIS_URL: url }),
        ].map((starting) => starting.then((server) => (servers.push(server), server))),
      );
    };
    let cluster: Promise<NodeServer[]> | null = quick && only.has('fanout') ? startCluster() : null;
    cluster?.catch(() => {}); // awaited (and reported) by the fan-out scenario

    generators = [startGenerator('gen-1'), startGenerator('gen-2'), startGenerator('gen-3')];
    const fixture = await seedOrg(single.url, 19);
    const connectionBoards = only.has('connections') ? Math.ceil(SIZES.connections.sockets / SOCKETS_PER_BOARD) : 0;
    log(`seeding ${connectionBoards + 1 + SIZES.throughputBoards + SIZES.fanoutBoards} boards`);
    const boards = await createBoards(fixture, connectionBoards + 1 + SIZES.throughputBoards + SIZES.fanoutBoards);
    const take = (n: number) => boards.splice(0, n);
    const ctx: BenchContext = { quick, workDir, database, fixture, generators, log };
    const [connBoards, [snapBoard], tpBoards, foBoards] = [
      take(connectionBoards),
      take(1),
      take(SIZES.throughputBoards),
      take(SIZES.fanoutBoards),
    ];

    if (only.has('connections')) {
      scenarios.connections = await attempt('connections', async () => {
        const relay = await relayNode('relay-single');
        servers.push(relay);
        try {
          return await connections(ctx, single, relay, connBoards, SIZES.connections);
        } finally {
          await relay.stop();
        }
      });
    }
    if (only.has('snapshot')) scenarios.snapshot = await attempt('snapshot', () => snapshot(ctx, single, snapBoard!, SIZES.snapshot));
    if (only.has('throughput'))
      scenarios.throughput = await attempt('throughput', () => throughput(ctx, single, tpBoards, SIZES.throughput));
    await single.stop();

    if (only.has('fanout')) {
      scenarios.fanout = await attempt('fanout', async () => {
        cluster ??= startCluster();
        const [a, b, ra, rb] = await cluster;
        return fanout(ctx, [a!, b!], [ra!, rb!], foBoards, SIZES.fanout);
      });
    }
  } finally {
    await stopGenerators(generators);
    await stopServers();
    await redis?.stop();
    await database?.drop().catch((error) => log(`could not drop ${database?.name}: ${error}`));
    forget();
    rmSync(workDir, { recursive: true, force: true });
  }

  const finished = new Date();
  const results: BenchResults = {
    meta: {
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      seconds: (finished.getTime() - started.getTime()) / 1000,
      mode: quick ? 'quick' : 'full',
      revision: measured,
      node: process.versions.node,
      cpus: cpus().length,
      postgres: postgres ?? 'PostgreSQL',
      argv: process.argv.slice(2),
    },
    scenarios,
    budgets: budgets(scenarios),
  };
  mkdirSync(outDir, { recursive: true });
  const stamp = started
    .toISOString()
    .replaceAll(':', '-')
    .replace(/\.\d+Z$/, 'Z');
  // Only a whole, comparable full run replaces `latest.*`, the table the README quotes: every
  // scenario, none failed, no profiler, both CPU layouts.
  const failed = Object.values(scenarios).some((value) => value && 'error' in value);
  const partial = only.size < SCENARIOS.length || failed || args['cpu-prof'] || args['shared-cores'];
  const name = quick ? 'latest-quick' : partial ? 'latest-partial' : 'latest';
  const json = path.join(outDir, `${name}.json`);
  const md = path.join(outDir, `${name}.md`);
  writeFileSync(json, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(md, markdown(results));
  copyFileSync(json, path.join(outDir, `${stamp}-${name}.json`));
  copyFileSync(md, path.join(outDir, `${stamp}-${name}.md`));
  console.log(`\n${markdown(results)}`);
  log(`wrote ${json} and ${md}`);
  return failed ? 1 : 0;
}

/** The run's database, while it exists: an interrupted run drops it too. */
let activeDatabase: BenchDatabase | undefined;

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    killAllChildren();
    const exit = () => process.exit(130);
    setTimeout(exit, 5000).unref();
    void (activeDatabase?.drop() ?? Promise.resolve()).catch(() => {}).finally(exit);
  });
}

main().then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    killAllChildren();
    process.exit(1);
  },
);

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Child, freePort, httpStatus, killAllChildren, spawnChild } from '../../test/support/processes.js';
import { sleep, until } from './clock.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
/** Node's flags for a TaskFlow node, as `npm start` gives them (package.json; README, "Configuration"). */
export const TASKFLOW_NODE_ARGS = ['--max-semi-space-size=64'];
const JWT_SECRET = randomBytes(36).toString('base64url');

/**
 * The environment of a TaskFlow node on the bench's database: one JWT secret for the whole run,
 * quiet logs, and no per-socket rate limit (the generators send far past it).
 */
export function taskflowEnv(databaseUrl: string): Record<string, string> {
  return { DATABASE_URL: databaseUrl, JWT_SECRET, LOG_LEVEL: 'warn', SOCKET_RATE_LIMIT: '0' };
}
/** A child of the bench: the test support's, whose output's tail is kept and which dies with the bench at the latest. */
export type BenchChild = Child;
export { killAllChildren, spawnChild };

/** A node process serving HTTP and socket.io: a TaskFlow node or the bare relay. */
export interface NodeServer extends BenchChild {
  url: string;
  port: number;
  /** `process.memoryUsage()` after two full collections, as the heap reporter writes it. */
  heap(): Promise<NodeJS.MemoryUsage>;
}

export interface NodeServerOptions {
  /** The script, relative to the repository root. */
  script: string;
  env: Record<string, string>;
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
  readyPath?: string;
  readyWithinMs?: number;
  /** A folder for the heap reporter's answers. */
  workDir: string;
}

/**
 * Starts `node --expose-gc --import tsx --import bench/heap-reporter.ts <script>` on a free port
 * of 127.0.0.1 and waits (bounded) for `readyPath` to answer 200.
 */
export async function startNodeServer(name: string, options: NodeServerOptions): Promise<NodeServer> {
  const port = await freePort();
  const heapFile = path.join(options.workDir, `heap-${name}-${port}.json`);
  const reporter = pathToFileURL(path.join(ROOT, 'bench/heap-reporter.ts')).href;
  const args = ['--expose-gc', ...(options.nodeArgs ?? []), '--import', 'tsx', '--import', reporter, options.script];
  const child = spawnChild(name, process.execPath, args, {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      BENCH_HEAP_FILE: heapFile,
      ...options.env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  const ready = await until(
    async () => !child.running() || (await httpStatus(`${url}${options.readyPath ?? '/readyz'}`, 1000)) === 200,
    options.readyWithinMs ?? 60_000,
    100,
  );
  if (!ready || !child.running()) {
    await child.stop(1000);
    throw new Error(`${name} did not become ready:\n${child.output()}`);
  }
  let asked = 0;
  const stopChild = child.stop;
  return Object.assign(child, {
    url,
    port,
    heap: async () => {
      asked += 1;
      const want = asked;
      child.process.kill('SIGUSR2');
      let answer: (NodeJS.MemoryUsage & { seq: number }) | null = null;
      const got = await until(() => {
        if (!existsSync(heapFile)) return false;
        try {
          answer = JSON.parse(readFileSync(heapFile, 'utf8'));
        } catch {
          return false;
        }
        return answer!.seq >= want;
      }, 15_000);
      if (!got || !answer) throw new Error(`${name}: no heap report within 15 s`);
      return answer;
    },
    stop: async (ms = 5000) => {
      await stopChild(ms);
      rmSync(heapFile, { force: true });
    },
  });
}

/** The resident set of a process, in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

let ticksPerSecond = 0;
function ticks(): number {
  if (!ticksPerSecond) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** What a process has handed the kernel to write so far (files and sockets alike): bytes and write calls, from /proc/<pid>/io. */
export function writtenSoFar(pid: number): { bytes: number; calls: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, 'm').exec(io)?.[1] ?? NaN);
  return { bytes: field('wchar'), calls: field('syscw') };
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = processStat(pid);
  if (!stat) throw new Error(`no process ${pid}`);
  return stat.seconds;
}

/** What /proc/<pid>/stat says of a process: its command name, its parent, its CPU seconds; null once it is gone. */
export function processStat(pid: number | string): { name: string; parent: number; seconds: number } | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    parent: Number(fields[1]),
    seconds: (Number(fields[11]) + Number(fields[12])) / ticks(),
  };
}

/** The ids of the machine's processes. */
export function processIds(): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number);
}

/** CPU seconds the whole machine has been busy so far, over all cores (/proc/stat, less idle and iowait). */
export function machineCpuSeconds(): number {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields.map(Number);
  return (user + nice + system + irq + softirq + steal) / ticks();
}

/** CPU seconds so far of each PostgreSQL process of the machine, by pid. */
export function postgresCpuSeconds(): Map<number, number> {
  const found = new Map<number, number>();
  for (const pid of processIds()) {
    const stat = processStat(pid);
    if (stat?.name === 'postgres') found.set(pid, stat.seconds);
  }
  return found;
}

/** A CPU meter over an interval: the machine's, PostgreSQL's (the processes alive at both ends), and some processes'. */
export function cpuMeter(pids: number[] = []): () => { machine: number; postgres: number; processes: number } {
  const machine = machineCpuSeconds();
  const postgres = postgresCpuSeconds();
  const processes = processesCpuMeter(pids);
  return () => {
    let postgresUsed = 0;
    for (const [pid, seconds] of postgresCpuSeconds()) postgresUsed += seconds - (postgres.get(pid) ?? seconds);
    return { machine: machineCpuSeconds() - machine, postgres: postgresUsed, processes: processes() };
  };
}

/** The CPU seconds some processes use over an interval, together. */
export function processesCpuMeter(pids: number[]): () => number {
  const before = pids.map(cpuSeconds);
  return () => pids.map(cpuSeconds).reduce((total, seconds, i) => total + seconds - before[i]!, 0);
}

/** CPU use of `pid` over `ms`, as a fraction of one core. */
export async function cpuShare(pid: number, ms: number): Promise<number> {
  const before = cpuSeconds(pid);
  const started = Date.now();
  await sleep(ms);
  return (cpuSeconds(pid) - before) / ((Date.now() - started) / 1000);
}

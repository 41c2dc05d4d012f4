import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** How much of a child's output is kept (the tail), to print when a test fails. */
const KEEP_CHARS = 64 * 1024;

/** A child process whose output is kept, and which dies with the test process at the latest. */
export interface Child {
  name: string;
  process: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal) once the process has ended. */
  exited: Promise<number | string>;
  /** True while the process has not exited. */
  running(): boolean;
  /** The tail of what it wrote to stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL if it is still there after `ms`; resolves once it has exited. */
  stop(ms?: number): Promise<void>;
  /** SIGKILL, resolving once it has exited. */
  kill(): Promise<void>;
}

const children = new Set<Child>();
// A test that fails, times out or is interrupted must not leave servers or Redis behind.
process.once('exit', () => killAllChildren());

/** Spawns a child in the repository's root whose output's tail is kept (`options.env` is its whole environment). */
export function spawnChild(name: string, command: string, args: string[], options: SpawnOptions = {}): Child {
  const proc = spawn(command, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-KEEP_CHARS);
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  let ended = false;
  const exited = new Promise<number | string>((resolve) => {
    proc.once('exit', (code, signal) => {
      ended = true;
      children.delete(child);
      resolve(code ?? signal ?? 'unknown');
    });
    proc.once('error', (error) => {
      ended = true;
      children.delete(child);
      keep(Buffer.from(`spawn failed: ${error.message}\n`));
      resolve('spawn-error');
    });
  });
  const child: Child = {
    name,
    process: proc,
    pid: proc.pid ?? -1,
    exited,
    running: () => !ended,
    output: () => output,
    stop: async (ms = 5000) => {
      if (ended) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
      await exited;
      clearTimeout(timer);
    },
    kill: async () => {
      if (ended) return;
      proc.kill('SIGKILL');
      await exited;
    },
  };
  children.add(child);
  return child;
}

/** Kills every child still running (SIGKILL): for exits and signals, where nothing can be awaited. */
export function killAllChildren(): void {
  for (const child of children) if (child.running()) child.process.kill('SIGKILL');
}

/** The tail of every child's output, each under its name: for a failing test's report. */
export function describeChildren(list: Array<Child | undefined>): string {
  return list
    .filter((child): child is Child => child !== undefined)
    .map((child) => `----- ${child.name} (${child.running() ? 'running' : 'exited'}) -----\n${child.output() || '(no output)\n'}`)
    .join('');
}

/**
 * Ports for the test's own servers: below the kernel's ephemeral range (32768 and up), where no
 * outgoing connection of the other test file running at the same time takes one, and a block for
 * each vitest worker, so that a port a test stops and starts a server on again stays its own.
 */
const PORTS_PER_WORKER = 4000;
const firstPort = 20_000 + (Number(process.env.VITEST_POOL_ID ?? 1) - 1) * PORTS_PER_WORKER;
let nextPort = firstPort + Math.floor(Math.random() * PORTS_PER_WORKER); // files of a worker one after another: start apart

/** A port of this worker's block that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORTS_PER_WORKER; tries++) {
    const port = nextPort;
    nextPort = firstPort + ((nextPort - firstPort + 1) % PORTS_PER_WORKER);
    if (await canListen(port)) return port;
  }
  throw new Error(`no free port from ${firstPort} to ${firstPort + PORTS_PER_WORKER - 1}`);
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const listening = once(server, 'listening').then(
    () => true,
    () => false, // EADDRINUSE
  );
  server.listen(port, '127.0.0.1');
  if (!(await listening)) return false;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return true;
}

/** Polls `probe` until it answers true, failing after `ms` or as soon as `child` exits. */
async function waitFor(what: string, child: Child, probe: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!child.running()) throw new Error(`${child.name} exited before ${what}:\n${child.output()}`);
    if (await probe().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${child.name}: no ${what} within ${ms} ms:\n${child.output()}`);
}

export interface ServerProcess extends Child {
  url: string;
  port: number;
}

/**
 * Starts `server/main.ts` in a child process (`node --import tsx`), as `npm start` would, on a free
 * port of 127.0.0.1, and waits (bounded) until its `/readyz` answers 200.
 */
export async function startServerProcess(name: string, env: Record<string, string>, readyWithinMs = 45_000): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawnChild(name, process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor('200 from /readyz', child, async () => (await httpStatus(`${url}/readyz`)) === 200, readyWithinMs);
  return Object.assign(child, { url, port });
}

/** The status of a GET, or 0 when nothing answers within `ms`. */
export async function httpStatus(url: string, ms = 2500): Promise<number> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(ms) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

export interface RedisProcess extends Child {
  port: number;
  url: string;
}

/** Starts a Redis of the test's own (no persistence) on `port` (a free one by default), and waits until it answers PING. */
export async function startRedis(port?: number, readyWithinMs = 10_000): Promise<RedisProcess> {
  const chosen = port ?? (await freePort());
  const child = spawnChild(
    `redis:${chosen}`,
    'redis-server',
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { env: { PATH: process.env.PATH ?? '' } },
  );
  await waitFor('PONG', child, () => redisPing(chosen), readyWithinMs);
  return Object.assign(child, { port: chosen, url: `redis://127.0.0.1:${chosen}` });
}

/** True when a Redis on `port` answers PING within `ms`. */
export function redisPing(port: number, ms = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let answer = '';
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), ms);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      answer += chunk.toString('latin1');
      if (answer.includes('\r\n')) finish(answer.startsWith('+PONG'));
    });
    socket.once('error', () => finish(false));
    socket.once('close', () => finish(false));
  });
}

/**
 * Two `server/main.ts` nodes on one database and on a Redis of the test's own (the machine's is
 * left alone), sharing a random JWT secret; node 1 applies the migrations. If either fails to
 * start, what the children wrote is printed before the error is rethrown.
 */
export async function startTwoNodes(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<{ redis: RedisProcess; node1: ServerProcess; node2: ServerProcess }> {
  let redis: RedisProcess | undefined;
  let node1: ServerProcess | undefined;
  let node2: ServerProcess | undefined;
  try {
    redis = await startRedis();
    const all = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, JWT_SECRET: randomBytes(32).toString('hex'), ...env };
    node1 = await startServerProcess('node1', all);
    node2 = await startServerProcess('node2', all);
    return { redis, node1, node2 };
  } catch (error) {
    console.error(describeChildren([node1, node2, redis]));
    throw error;
  }
}

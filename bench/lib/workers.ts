import path from 'node:path';
import type {
  CollectJob,
  CollectResult,
  ConnectJob,
  ConnectResult,
  Job,
  JoinJob,
  JoinResult,
  SendJob,
  SendResult,
  SerialJoinJob,
  WorkerReply,
} from '../loadgen/protocol.js';
import { type BenchChild, ROOT, spawnChild } from './children.js';

/** A load generator child process, driven over IPC. */
export interface Generator {
  name: string;
  child: BenchChild;
  connect(job: Omit<ConnectJob, 'kind'>, timeoutMs: number): Promise<ConnectResult>;
  close(group: string): Promise<void>;
  watch(group: string, tag: string): Promise<void>;
  collect(job: Omit<CollectJob, 'kind'>): Promise<CollectResult>;
  send(job: Omit<SendJob, 'kind'>): Promise<SendResult>;
  join(job: Omit<JoinJob, 'kind'>): Promise<JoinResult>;
  /** Latencies of joins made one after another. */
  serialJoin(job: Omit<SerialJoinJob, 'kind'>): Promise<number[]>;
  stop(): Promise<void>;
}

export function startGenerator(name: string): Generator {
  const child = spawnChild(name, process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/loadgen/worker.ts')], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const proc = child.process;
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 0;
  proc.on('message', (reply: WorkerReply) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.ok) waiter.resolve(reply.result);
    else waiter.reject(new Error(`${name}: ${reply.error}`));
  });
  void child.exited.then((code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited (${code}):\n${child.output()}`));
    pending.clear();
  });

  function request<T>(job: Job, timeoutMs: number): Promise<T> {
    if (!child.running()) return Promise.reject(new Error(`${name} is not running:\n${child.output()}`));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`${name}: ${job.kind} took over ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      proc.send({ id, job });
    });
  }

  return {
    name,
    child,
    connect: (job, timeoutMs) => request({ kind: 'connect', ...job }, timeoutMs),
    close: async (group) => {
      await request({ kind: 'close', group }, 30_000);
    },
    watch: async (group, tag) => {
      await request({ kind: 'watch', group, tag }, 10_000);
    },
    collect: (job) => request({ kind: 'collect', ...job }, job.waitMs + 30_000),
    send: (job) => request({ kind: 'send', ...job }, job.durationMs + job.ackTimeoutMs + 30_000),
    join: (job) => request({ kind: 'join', ...job }, job.durationMs + job.ackTimeoutMs + 30_000),
    serialJoin: (job) => request({ kind: 'serial-join', ...job }, job.count * job.timeoutMs + 30_000),
    stop: async () => {
      if (proc.connected) proc.disconnect();
      await child.stop(3000);
    },
  };
}

/** Waits for the generators, killing them all however the run ends. */
export async function stopGenerators(generators: Array<Generator | undefined>): Promise<void> {
  await Promise.all(generators.map((generator) => generator?.stop()));
}

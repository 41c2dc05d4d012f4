import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { separatePostgres } from '../bench/lib/cpu-layout.js';

// The bench moves PostgreSQL's processes for a while (`separatePostgres`), so it must give every
// one of them its CPUs back. A process tree named as PostgreSQL's stands in for it here: a parent
// (the postmaster) with two children (backends), one of which is handed over as "the backend".
const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) child.kill('SIGKILL');
});

// This machine's CPUs, read before anything moves (the bench's CI machine has two: 1, and 0).
const CPUS = availableParallelism();
const DATABASE_CPU = String(CPUS - 1);
const BENCH_CPUS = CPUS === 2 ? '0' : `0-${CPUS - 2}`;
const cpusOf = (pid: number) =>
  execFileSync('taskset', ['-c', '-p', String(pid)], { encoding: 'utf8' })
    .split(': ')[1]!
    .trim();
const childrenOf = (pid: number) =>
  execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map(Number);

/** Copies of `sh` and `sleep` named `postgres`, as PostgreSQL's processes are named. */
const dir = mkdtempSync(path.join(tmpdir(), 'taskflow-cpu-layout-'));
const POSTMASTER = path.join(dir, 'postmaster', 'postgres');
const BACKEND = path.join(dir, 'backend', 'postgres');
mkdirSync(path.dirname(POSTMASTER));
mkdirSync(path.dirname(BACKEND));
copyFileSync('/bin/sh', POSTMASTER);
copyFileSync('/bin/sleep', BACKEND);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function processTree(shell = POSTMASTER, sleep = BACKEND): Promise<{ parent: number; children: number[]; app: number }> {
  const parent = spawn(shell, ['-c', `${sleep} 60 & ${sleep} 60 & wait`], { stdio: 'ignore' });
  const app = spawn('sleep', ['60'], { stdio: 'ignore' });
  started.push(parent, app);
  for (;;) {
    const children = (() => {
      try {
        return childrenOf(parent.pid!);
      } catch {
        return [];
      }
    })();
    if (children.length === 2) return { parent: parent.pid!, children, app: app.pid! };
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('PostgreSQL on a core of its own (bench/lib/cpu-layout.ts)', () => {
  it('puts the database tree on the last CPU, the bench on the others, and gives every CPU back', async () => {
    const { parent, children, app } = await processTree();
    const before = { parent: cpusOf(parent), app: cpusOf(app), self: cpusOf(process.pid) };

    const layout = separatePostgres(children[0]!, [app]);
    expect('unavailable' in layout, JSON.stringify(layout)).toBe(false);
    if ('unavailable' in layout) return;
    try {
      for (const pid of [parent, ...children]) expect(cpusOf(pid)).toBe(DATABASE_CPU);
      for (const pid of [app, process.pid]) expect(cpusOf(pid)).toBe(BENCH_CPUS);
      // What the bench starts meanwhile (pgbench) runs on the bench's side.
      const pgbench = spawn('sleep', ['60'], { stdio: 'ignore' });
      started.push(pgbench);
      expect(cpusOf(pgbench.pid!)).toBe(BENCH_CPUS);
    } finally {
      layout.restore();
    }
    for (const pid of [parent, ...children]) expect(cpusOf(pid)).toBe(before.parent);
    expect(cpusOf(app)).toBe(before.app);
    expect(cpusOf(process.pid)).toBe(before.self);
    layout.restore(); // a second time changes nothing
    expect(cpusOf(parent)).toBe(before.parent);
  });

  it('moves nothing when the process it is given is not PostgreSQL (a server in a container has other ids)', async () => {
    const { parent, children, app } = await processTree('/bin/sh', '/bin/sleep');
    const before = cpusOf(parent);
    expect(separatePostgres(children[0]!, [app])).toEqual({ unavailable: 'PostgreSQL is not on this machine' });
    expect(separatePostgres(2 ** 22 + 12_345, [app])).toEqual({ unavailable: 'PostgreSQL is not on this machine' });
    for (const pid of [parent, ...children]) expect(cpusOf(pid)).toBe(before);
  });
});

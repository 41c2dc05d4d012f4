import { execFileSync } from 'node:child_process';
import { processIds, processStat } from './children.js';

/** PostgreSQL on a core of its own, the rest of the bench on the others, until `restore()`. */
export interface SeparateCores {
  /** Which CPUs went to whom, for the report. */
  description: string;
  /** Puts every process back on the CPUs it had; safe to call more than once. */
  restore(): void;
}

/**
 * Moves the PostgreSQL server that runs `backendPid` (its postmaster and every process the
 * postmaster runs, so also the backends it starts later) onto the last CPU, and this process
 * (so the pgbench it starts), with `appPids` (their threads too), onto the others: the layout of a
 * deployment, where the database does not share its CPUs with the application and its clients.
 * Linux's `taskset`; it needs PostgreSQL on this machine and the right to change its processes'
 * CPUs (root, or CAP_SYS_NICE). Answers why not when it cannot; the CPUs are given back by
 * `restore()`, and at this process's exit at the latest.
 */
export function separatePostgres(backendPid: number, appPids: number[]): SeparateCores | { unavailable: string } {
  // The backend's process id as PostgreSQL sees it: a server in a container of its own would name
  // another process here, or none, so both ends are checked to be PostgreSQL's.
  const postmaster = processStat(backendPid)?.parent;
  if (postmaster === undefined || !isPostgres(backendPid) || !isPostgres(postmaster))
    return { unavailable: 'PostgreSQL is not on this machine' };
  const postgres = () => [postmaster, ...processIds().filter((pid) => processStat(pid)?.parent === postmaster)];
  const apps = [process.pid, ...appPids];
  let cpus: number[];
  let postgresCpus: string;
  let appCpus: Map<number, string>;
  try {
    cpus = cpusOf(process.pid);
    postgresCpus = cpusOf(postmaster).join(',');
    appCpus = new Map(apps.map((pid) => [pid, cpusOf(pid).join(',')]));
  } catch (error) {
    return unavailable(error);
  }
  if (cpus.length < 2) return { unavailable: 'one CPU only' };
  const dbCpu = String(cpus.at(-1));
  const benchCpus = cpus.slice(0, -1).join(',');
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    // Every process is tried, one that fails or is gone notwithstanding.
    for (const pid of postgres()) setCpus(pid, postgresCpus, false, false);
    for (const [pid, list] of appCpus) setCpus(pid, list, true, false);
  };
  process.on('exit', restore);
  try {
    for (const pid of postgres()) setCpus(pid, dbCpu, false, pid === postmaster);
    for (const pid of apps) setCpus(pid, benchCpus, true, true);
  } catch (error) {
    restore();
    return unavailable(error);
  }
  return { description: `PostgreSQL on CPU ${dbCpu}; TaskFlow, the generators and pgbench's client on CPU ${benchCpus}`, restore };
}

function unavailable(error: unknown): { unavailable: string } {
  return { unavailable: `taskset: ${(error as Error).message.split('\n')[0]}` };
}

/** The CPUs `pid` may run on, from `taskset -c -p` (a list such as `0-2,4`). */
function cpusOf(pid: number): number[] {
  const out = execFileSync('taskset', ['-c', '-p', String(pid)], { encoding: 'utf8' });
  const list = /list: ([\d,-]+)/.exec(out)?.[1];
  if (!list) throw new Error(`no list in "${out.trim()}"`);
  return list.split(',').flatMap((part) => {
    const [first, last = first] = part.split('-').map(Number) as [number, number?];
    return Array.from({ length: last - first + 1 }, (_, i) => first + i);
  });
}

/**
 * Sets `pid`'s CPUs (a list such as `0,1`), all its threads with `threads`. Without `required`,
 * a failure is only reported: a backend may end meanwhile, and giving CPUs back must go on.
 */
function setCpus(pid: number, cpus: string, threads: boolean, required: boolean): void {
  const args = [...(threads ? ['-a'] : []), '-c', '-p', cpus, String(pid)];
  try {
    execFileSync('taskset', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    if (required) throw error;
    if (processStat(pid)) process.stderr.write(`taskset ${args.join(' ')}: ${(error as Error).message.split('\n')[0]}\n`);
  }
}

function isPostgres(pid: number): boolean {
  return processStat(pid)?.name === 'postgres';
}

import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

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
  let cpus: number[];
  try {
    cpus = cpusOf(process.pid);
  } catch (error) {
    return { unavailable: `taskset: ${(error as Error).message.split('\n')[0]}` };
  }
  if (cpus.length < 2) return { unavailable: 'one CPU only' };
  // The backend's process id as PostgreSQL sees it: a server in a container of its own would name
  // another process here, or none, so both ends are checked to be PostgreSQL's.
  const postmaster = parentOf(backendPid);
  if (postmaster === null || !isPostgres(backendPid) || !isPostgres(postmaster))
    return { unavailable: 'PostgreSQL is not on this machine' };
  const apps = [process.pid, ...appPids];
  let postgresMask: string;
  let appMasks: Map<number, string>;
  try {
    postgresMask = maskOf(postmaster);
    appMasks = new Map(apps.map((pid) => [pid, maskOf(pid)]));
  } catch (error) {
    return { unavailable: `taskset: ${(error as Error).message.split('\n')[0]}` };
  }
  const dbCpu = String(cpus.at(-1));
  const appCpus = cpus.slice(0, -1).join(',');
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.off('exit', restore);
    // Every process is tried, one that fails or is gone notwithstanding.
    for (const pid of [postmaster, ...childrenOf(postmaster)]) setCpus(pid, postgresMask, 'mask', false, false);
    for (const [pid, mask] of appMasks) setCpus(pid, mask, 'mask', true, false);
  };
  process.on('exit', restore);
  try {
    for (const pid of [postmaster, ...childrenOf(postmaster)]) setCpus(pid, dbCpu, 'list', false, pid === postmaster);
    for (const pid of apps) setCpus(pid, appCpus, 'list', true, true);
  } catch (error) {
    restore();
    return { unavailable: `taskset: ${(error as Error).message.split('\n')[0]}` };
  }
  return { description: `PostgreSQL on CPU ${dbCpu}; TaskFlow, the generators and pgbench's client on CPU ${appCpus}`, restore };
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

/** The CPU mask of `pid`, as `taskset -p` prints it (hex). */
function maskOf(pid: number): string {
  const out = execFileSync('taskset', ['-p', String(pid)], { encoding: 'utf8' });
  const mask = /mask: ([0-9a-f]+)/.exec(out)?.[1];
  if (!mask) throw new Error(`no mask in "${out.trim()}"`);
  return mask;
}

/**
 * Sets `pid`'s CPUs (a hex mask or a list), all its threads with `threads`. Without `required`,
 * a failure is only reported: a backend may end meanwhile, and giving CPUs back must go on.
 */
function setCpus(pid: number, cpus: string, form: 'mask' | 'list', threads: boolean, required: boolean): void {
  const args = [...(threads ? ['-a'] : []), ...(form === 'list' ? ['-c'] : []), '-p', cpus, String(pid)];
  try {
    execFileSync('taskset', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    if (required) throw error;
    if (exists(pid)) process.stderr.write(`taskset ${args.join(' ')}: ${(error as Error).message.split('\n')[0]}\n`);
  }
}

function parentOf(pid: number): number | null {
  const stat = statOf(pid);
  return stat ? Number(stat[1]) : null;
}

/** The fields of /proc/<pid>/stat after the command's name: state, parent, … */
function statOf(pid: number | string): string[] | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

function isPostgres(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres');
  } catch {
    return false;
  }
}

function exists(pid: number): boolean {
  return statOf(pid) !== null;
}

/** The processes whose parent is `pid`. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = statOf(entry);
    if (stat && Number(stat[1]) === pid) children.push(Number(entry));
  }
  return children;
}

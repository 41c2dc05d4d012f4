import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { ConfigError, dataDirFileError } from '../config.js';

/** How often a holder touches its lock file, from a thread of its own that a busy event loop does not hold up. */
const HEARTBEAT_MS = 2_000;
/** How long a holder that cannot be looked up is watched for a heartbeat before it is taken for gone. */
const HOLDER_WATCH_MS = 5 * HEARTBEAT_MS;

/** What the lock file holds: the process that holds the folder, and where it runs. */
interface Holder {
  pid: number;
  /** For the refusal's message only. */
  host: string;
  /** The kernel's boot (`/proc/sys/kernel/random/boot_id`) and pid namespace (`/proc/self/ns/pid`): where `pid` means this pid. Null off Linux. */
  kernel: string | null;
  /** The process's start time in clock ticks since boot (`/proc/<pid>/stat`), which tells a reused pid apart. */
  started: string | null;
}

/** The folders this process holds, by their real path. */
const held = new Set<string>();

/**
 * Takes the embedded database's folder for this process, as PostgreSQL's `postmaster.pid` does
 * for its own: PGlite takes no lock, and two processes on one folder (a second `npm start`) leave
 * it unreadable. Answers the release, which `close` runs; the file also goes when the process exits.
 *
 * A holder this process can look up (the same kernel and pid namespace) is judged by its pid and
 * start time: gone (a crash, a kill), it is taken over at once; alive, refused with a
 * `ConfigError` naming it. One it cannot (another container on the folder as a volume, another
 * machine on a network file system, a container restarted after a crash) is judged by its
 * heartbeat: a holder touches the file every `HEARTBEAT_MS` from a thread of its own, and one
 * whose file stays untouched for `watchMs` is taken for gone. A start waits that long for it.
 */
export async function lockDataDir(dir: string, watchMs = HOLDER_WATCH_MS): Promise<() => void> {
  const file = path.join(realpathSync(dir), 'taskflow.lock');
  if (held.has(file)) throw new ConfigError(`DATA_DIR ${dir} is open in this process already`);
  const me = thisProcess();
  const mine = JSON.stringify(me);
  // Written aside and linked into place, which fails if the file is there: it never appears half written.
  const draft = `${file}.${randomUUID()}`;
  try {
    writeFileSync(draft, mine, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    rmSync(draft, { force: true }); // a full disk leaves it empty
    throw dataDirFileError('write', file, error);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw dataDirFileError('write', file, error);
        if (attempt >= 2) throw new ConfigError(`DATA_DIR ${dir}: other starts keep taking ${file}; start one server at a time`);
      }
      const text = readLock(file);
      if (text === null) continue; // let go meanwhile
      const holder = parseHolder(text);
      if (await holds(file, text, holder, me, watchMs)) throw inUse(dir, file, holder);
      // Its holder is gone: taken over, unless another start took it over meanwhile.
      if (readLock(file) === text) unlinkQuietly(file);
    }
  } finally {
    unlinkQuietly(draft);
  }
  held.add(file);
  const heartbeat = beat(file);
  const release = () => {
    if (!held.delete(file)) return;
    void heartbeat.terminate();
    if (readLock(file) === mine) unlinkQuietly(file);
  };
  process.once('exit', release);
  return () => {
    process.off('exit', release);
    release();
  };
}

function thisProcess(): Holder {
  return { pid: process.pid, host: hostname(), kernel: thisKernel(), started: startTime(process.pid) };
}

/** Whether the holder the file's `text` names (`holder`, null if it names none) still holds the folder. */
async function holds(file: string, text: string, holder: Holder | null, me: Holder, watchMs: number): Promise<boolean> {
  if (holder && holder.kernel !== null && holder.kernel === me.kernel) {
    if (holder.pid === me.pid) return holder.started === me.started; // this very process, through another path; else one before it
    return isRunning(holder);
  }
  // Not one to look up: watched for a heartbeat.
  const touched = modified(file);
  await sleep(watchMs);
  const now = readLock(file);
  return now !== null && (now !== text || modified(file) !== touched);
}

function isRunning(holder: Holder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false; // no such process
  }
  return holder.started === null || startTime(holder.pid) === holder.started;
}

/** Touches the lock file every `HEARTBEAT_MS`, from a thread of its own. */
function beat(file: string): Worker {
  const worker = new Worker(
    `const { utimesSync } = require('node:fs');
     const { workerData } = require('node:worker_threads');
     setInterval(() => { try { const now = new Date(); utimesSync(workerData.file, now, now); } catch {} }, workerData.every);`,
    { eval: true, workerData: { file, every: HEARTBEAT_MS } },
  );
  worker.unref();
  return worker;
}

function inUse(dir: string, file: string, holder: Holder | null): ConfigError {
  const who = holder ? `process ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`}` : 'another process';
  return new ConfigError(`DATA_DIR ${dir} is in use by ${who}: stop it first (if no TaskFlow runs on this folder, remove ${file})`);
}

function thisKernel(): string | null {
  try {
    return `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()} ${readlinkSync('/proc/self/ns/pid')}`;
  } catch {
    return null;
  }
}

function startTime(pid: number): string | null {
  try {
    // Field 22 of /proc/<pid>/stat, counted after the command name, which may hold spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function parseHolder(text: string): Holder | null {
  try {
    const holder = JSON.parse(text) as Partial<Holder>;
    if (!Number.isInteger(holder.pid) || holder.pid! <= 0) return null;
    return { pid: holder.pid!, host: String(holder.host ?? '?'), kernel: holder.kernel ?? null, started: holder.started ?? null };
  } catch {
    return null;
  }
}

/** The lock file's text; null if there is none. One that cannot be read (another user's) counts as held. */
function readLock(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw dataDirFileError('read', file, error);
  }
}

function modified(file: string): number | null {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return null;
  }
}

function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

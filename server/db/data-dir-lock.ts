import { linkSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../config.js';

/** What the lock file holds: the process that holds the folder, where, and when that process started (Linux). */
interface Holder {
  pid: number;
  /** The machine's (or container's) name: a process elsewhere cannot be checked, so it is taken to run. */
  host: string;
  /** The process's start time in clock ticks since boot (`/proc/<pid>/stat`), which tells a reused pid apart; null elsewhere. */
  started: string | null;
}

/** The folders this process holds. */
const held = new Set<string>();

/**
 * Takes the embedded database's folder for this process, as PostgreSQL's `postmaster.pid` does
 * for its own: PGlite takes no lock, and two processes on one folder (a second `npm start`) leave
 * it unreadable. A folder held by a live process is refused with a `ConfigError` naming it; one
 * whose holder is gone (a crash, a kill) is taken over. A holder is never judged by age: a live
 * one that is busy is still the holder; nor, being unseen, one on another host (a container sharing
 * the folder as a volume). Answers the release, which `close` runs; the file is also removed when
 * the process exits.
 */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, 'taskflow.lock');
  if (held.has(file)) throw new ConfigError(`DATA_DIR ${dir} is open in this process already`);
  const me: Holder = { pid: process.pid, host: hostname(), started: startTime(process.pid) };
  const mine = JSON.stringify(me);
  // Written aside and linked into place, which fails if the file is there: it never appears half written.
  const draft = `${file}.${process.pid}`;
  writeFileSync(draft, mine, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw error;
      }
      const text = readText(file);
      const holder = text === null ? null : parseHolder(text);
      if (holder && isAlive(holder)) {
        const where = holder.host === me.host ? '' : ` on ${holder.host}`;
        throw new ConfigError(
          `DATA_DIR ${dir} is in use by process ${holder.pid}${where}: stop it first (if no TaskFlow runs on this folder, remove ${file})`,
        );
      }
      // Its holder is gone (or the file is not ours to read): taken over, unless another start took it over meanwhile.
      if (readText(file) === text) unlinkQuietly(file);
    }
  } finally {
    unlinkQuietly(draft);
  }
  held.add(file);
  const release = () => {
    if (!held.delete(file)) return;
    if (readText(file) === mine) unlinkQuietly(file);
  };
  process.once('exit', release);
  return () => {
    process.off('exit', release);
    release();
  };
}

/** Whether the process the file names may still run: on another host, or here with the same pid, started at the same time where that can be read. */
function isAlive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  // This process's own pid, not in `held`: a process before it (a container restarted) that died holding the folder.
  if (holder.pid === process.pid) return false;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false; // no such process
  }
  const started = startTime(holder.pid);
  return holder.started === null || started === null || started === holder.started;
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
    if (!Number.isInteger(holder.pid) || holder.pid! <= 0 || typeof holder.host !== 'string') return null;
    return { pid: holder.pid!, host: holder.host, started: holder.started ?? null };
  } catch {
    return null;
  }
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
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

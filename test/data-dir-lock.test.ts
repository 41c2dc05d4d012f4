import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../server/config.js';
import { lockDataDir } from '../server/db/data-dir-lock.js';
import { openDatabase } from '../server/db/orm.js';
import { eventually } from './support/sockets.js';

// The embedded database's folder is held by one process at a time (`lockDataDir`); here its
// judgement of the holders a lock file can name, with lock files written by hand.
// `test/embedded.test.ts` runs it with real servers: a second start refused, a killed one taken over.

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function newDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'taskflow-lock-'));
  dirs.push(dir);
  return dir;
}

const lockOf = (dir: string) => path.join(dir, 'taskflow.lock');
const holderIn = (dir: string) => JSON.parse(readFileSync(lockOf(dir), 'utf8')) as { pid: number };
const thisKernel = `${readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()} ${readlinkSync('/proc/self/ns/pid')}`;
const startTime = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
};
/** A short watch for a heartbeat, where a server waits `HOLDER_WATCH_MS`. */
const WATCH_MS = 400;

/** Runs `node -e script`; answers the child once it has started, and its exit. */
async function child(script: string): Promise<{ pid: number; exited: Promise<unknown>; kill: () => void }> {
  const proc = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
  await new Promise((resolve) => proc.once('spawn', resolve));
  return { pid: proc.pid!, exited: new Promise((resolve) => proc.once('exit', resolve)), kill: () => proc.kill('SIGKILL') };
}

describe('the DATA_DIR lock', () => {
  it('is taken on a free folder, naming this process, touched by its heartbeat, and removed on release', async () => {
    const dir = newDir();
    const release = await lockDataDir(dir);
    expect(holderIn(dir)).toEqual({ pid: process.pid, host: hostname(), kernel: thisKernel, started: startTime(process.pid) });
    const written = statSync(lockOf(dir)).mtimeMs;
    await eventually(() => expect(statSync(lockOf(dir)).mtimeMs).toBeGreaterThan(written), 6000);
    release();
    expect(() => statSync(lockOf(dir))).toThrow(/ENOENT/);
  });

  it('refuses a folder this process holds, also by another path to it', async () => {
    const dir = newDir();
    const release = await lockDataDir(dir);
    try {
      await expect(lockDataDir(dir)).rejects.toThrow(ConfigError);
      const link = path.join(newDir(), 'link');
      symlinkSync(dir, link);
      await expect(lockDataDir(link)).rejects.toThrow(`DATA_DIR ${link} is open in this process already`);
    } finally {
      release();
    }
  });

  it('refuses a live holder on this machine, naming it', async () => {
    const dir = newDir();
    const holder = await child('setTimeout(() => {}, 60_000)');
    try {
      writeFileSync(lockOf(dir), JSON.stringify({ pid: holder.pid, host: hostname(), kernel: thisKernel, started: startTime(holder.pid) }));
      await expect(lockDataDir(dir, WATCH_MS)).rejects.toThrow(
        new ConfigError(
          `DATA_DIR ${dir} is in use by process ${holder.pid}: stop it first (if no TaskFlow runs on this folder, remove ${lockOf(dir)})`,
        ),
      );
    } finally {
      holder.kill();
    }
  });

  it('takes over at once from a holder on this machine that is gone, or whose pid another process has now', async () => {
    const gone = await child('');
    await gone.exited;
    for (const [pid, started] of [
      [gone.pid, '1'],
      [process.ppid, 'not when it started'], // a pid reused: alive, but started at another time
      [process.pid, 'not when it started'], // this pid, once a process before this one's (a container restarted)
    ] as const) {
      const dir = newDir();
      writeFileSync(lockOf(dir), JSON.stringify({ pid, host: hostname(), kernel: thisKernel, started }));
      const startedAt = Date.now();
      const release = await lockDataDir(dir, 60_000);
      expect(Date.now() - startedAt).toBeLessThan(5000); // judged by its pid, not watched
      expect(holderIn(dir).pid).toBe(process.pid);
      release();
    }
  });

  it('refuses a holder it cannot look up while its heartbeat goes on, and takes over once it stops', async () => {
    // Another container on the folder (another pid namespace), another machine, or a lock file it cannot read.
    for (const text of [
      JSON.stringify({ pid: 1, host: 'elsewhere', kernel: 'another-boot pid:[1]', started: '5' }),
      JSON.stringify({ pid: 1, host: hostname(), kernel: 'another-boot pid:[1]', started: '5' }),
      'half written',
    ]) {
      const dir = newDir();
      writeFileSync(lockOf(dir), text);
      const beating = setInterval(() => utimesSync(lockOf(dir), new Date(), new Date()), 50);
      try {
        const refused = lockDataDir(dir, WATCH_MS);
        await expect(refused).rejects.toThrow(/^DATA_DIR .* is in use by (process 1( on elsewhere)?|another process): stop it first/);
      } finally {
        clearInterval(beating);
      }
      expect(readFileSync(lockOf(dir), 'utf8')).toBe(text);
      const release = await lockDataDir(dir, WATCH_MS);
      expect(holderIn(dir).pid).toBe(process.pid);
      release();
    }
  });

  it('is let go when the embedded database cannot be opened', async () => {
    const dir = newDir();
    mkdirSync(path.join(dir, 'pgdata'));
    writeFileSync(path.join(dir, 'pgdata', 'PG_VERSION'), '17\n'); // a folder PGlite cannot read
    await expect(openDatabase({ databaseUrl: null, dataDir: dir })).rejects.toThrow(ConfigError);
    const release = await lockDataDir(dir);
    release();
  });
});

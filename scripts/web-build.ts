// The web board's build (client/web/dist), made when it is missing or older than its sources:
// before `npm start` and before a test run.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where the server looks for the web board (server/http/web.routes.ts). */
export const WEB_DIST = path.join(ROOT, 'client/web/dist');

/** Whether the build is missing, or older than a file of `client/` (the web board and the SDK) or `shared/`. */
export function webBuildIsStale(): boolean {
  const built = path.join(WEB_DIST, 'index.html');
  if (!existsSync(built)) return true;
  const sources = Math.max(newest(path.join(ROOT, 'client')), newest(path.join(ROOT, 'shared')));
  return statSync(built).mtimeMs < sources;
}

const VITE = path.join(ROOT, 'node_modules/vite/bin/vite.js');

/** Whether Vite, a devDependency, is installed: not after a production install (`npm ci --omit=dev`). */
export function canBuildWeb(): boolean {
  return existsSync(VITE);
}

/**
 * Builds the web board with Vite (in a child process, for a production bundle) into a folder of
 * its own, then swaps it in for `client/web/dist`, so a server that starts meanwhile never serves
 * half a build.
 */
export async function buildWeb(): Promise<void> {
  const scratch = path.join(ROOT, 'node_modules/.cache/taskflow-web', String(process.pid));
  const next = path.join(scratch, 'dist');
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await promisify(execFile)(
      process.execPath,
      [VITE, 'build', '--config', 'client/web/vite.config.ts', '--outDir', next, '--logLevel', 'warn'],
      { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, timeout: 120_000 },
    );
    const old = path.join(scratch, 'old');
    if (existsSync(WEB_DIST)) await rename(WEB_DIST, old);
    // A new build that cannot take its place leaves the old one there, not gone with the scratch folder.
    await rename(next, WEB_DIST).catch(async (error: unknown) => {
      if (existsSync(old)) await rename(old, WEB_DIST);
      throw error;
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules') continue;
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** What a build is made of: its code and its migrations (`dist` and `node_modules` are made from these and the lockfile). */
const SOURCES = ['server', 'shared', 'client', 'migrations', 'package.json', 'package-lock.json'];
const MADE = new Set(['dist', 'node_modules']);

/**
 * The build this node runs: 12 hex digits of a hash of its sources (each file's path and bytes),
 * so that nodes of one build tell the same id and of builds apart different ones, whatever their
 * version or where their copy came from.
 */
export function buildId(): Promise<string> {
  built ??= hashSources(ROOT).catch(() => 'unknown'); // a file it may not read: not worth a refused start
  return built;
}

/** Read once a process: the sources do not change under a running build. */
let built: Promise<string> | null = null;

/** The build id of the copy at `root`. */
export async function hashSources(root: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of (await Promise.all(SOURCES.map((source) => filesUnder(join(root, source))))).flat().sort()) {
    hash.update(`${relative(root, file)}\0`);
    hash.update(await readFile(file));
  }
  return hash.digest('hex').slice(0, 12);
}

async function filesUnder(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOTDIR') return null; // a file
    if (error.code === 'ENOENT') return []; // not in this copy (an image without the SDK, say)
    throw error;
  });
  if (!entries) return [path];
  const nested = entries.filter((entry) => !MADE.has(entry.name)).map((entry) => filesUnder(join(path, entry.name)));
  return (await Promise.all(nested)).flat();
}

import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where a build's code is: its sources, their dependencies' versions (`dist` and `node_modules` are made from these). */
const SOURCES = ['server', 'shared', 'client', 'migrations', 'package.json', 'package-lock.json'];
const MADE = new Set(['dist', 'node_modules']);
/** The files that are code: not docs, logs, editors' leftovers, nor a database folder put among the sources. */
const CODE = /\.(ts|tsx|mts|js|mjs|css|html|json)$/;

/**
 * The build this node runs: 12 hex digits of a hash of its code (each file's path and text, line
 * ends as LF), so that copies of one commit tell the same id, wherever they came from, and builds
 * apart different ones. Read once a process: the sources do not change under a running build.
 */
export function buildId(): Promise<string> {
  built ??= hashSources(ROOT);
  return built;
}

let built: Promise<string> | null = null;

/** The build id of the copy at `root`. */
export async function hashSources(root: string): Promise<string> {
  const hash = createHash('sha256');
  const files = (await Promise.all(SOURCES.map((source) => filesUnder(join(root, source))))).flat().filter((file) => CODE.test(file));
  for (const file of files.map((file) => relative(root, file).split(sep).join('/')).sort()) {
    const text = await readFile(join(root, file), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null; // gone since it was listed
      throw error;
    });
    if (text !== null) hash.update(`${file}\0${text.replaceAll('\r\n', '\n')}\0`);
  }
  return hash.digest('hex').slice(0, 12);
}

async function filesUnder(path: string): Promise<string[]> {
  const entries = await readdir(path, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOTDIR') return null; // a file
    if (error.code === 'ENOENT') return []; // not in this copy
    throw error;
  });
  if (!entries) return [path];
  const nested = entries
    .filter((entry) => !MADE.has(entry.name) && !entry.name.startsWith('.'))
    .map((entry) => filesUnder(join(path, entry.name)));
  return (await Promise.all(nested)).flat();
}

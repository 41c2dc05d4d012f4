import { buildWeb, webBuildIsStale } from '../../scripts/web-build.js';

/**
 * Vitest's global set-up: the web board is built once, before any test file runs, when its
 * sources changed since the last build. The browser tests test it as it now is, and every file's
 * server serves the same build (a build swapped in under a running file would race it).
 */
export default async function buildWebBoardIfStale(): Promise<void> {
  if (webBuildIsStale()) await buildWeb();
}

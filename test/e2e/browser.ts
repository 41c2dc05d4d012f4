import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** Where the server looks for the web board (server/http/web.routes.ts). */
export const WEB_DIST = path.join(ROOT, 'client/web/dist');
/** Debian's Chromium; never a downloaded one. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/**
 * Builds the web board with Vite (in a child process, for a production bundle) into a folder of
 * its own, then swaps it in for `client/web/dist`, so a server starting meanwhile in another test
 * file never sees half a build.
 */
export async function buildWebBoard(): Promise<void> {
  const scratch = path.join(ROOT, 'node_modules/.cache/taskflow-web', String(process.pid));
  const next = path.join(scratch, 'dist');
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await promisify(execFile)(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/vite/bin/vite.js'),
        'build',
        '--config',
        'client/web/vite.config.ts',
        '--outDir',
        next,
        '--logLevel',
        'warn',
      ],
      { cwd: ROOT, env: { ...process.env, NODE_ENV: 'production' }, timeout: 120_000 },
    );
    if (existsSync(WEB_DIST)) await rename(WEB_DIST, path.join(scratch, 'old'));
    await rename(next, WEB_DIST);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface SignedInPage {
  context: BrowserContext;
  page: Page;
  /** What the page logged as errors and threw: printed when a test fails. */
  problems: string[];
}

/**
 * A browser context of its own (its own localStorage), signed in with `token` as the sign-in form
 * would leave it; with no token, the page shows the sign-in form. `device` makes it a phone's
 * (`{ hasTouch: true, isMobile: true }`).
 */
export async function signedInPage(
  browser: Browser,
  token: string | null,
  viewport = { width: 1280, height: 800 },
  device: Pick<BrowserContextOptions, 'hasTouch' | 'isMobile'> = {},
): Promise<SignedInPage> {
  const context = await browser.newContext({ viewport, ...device });
  if (token)
    await context.addInitScript((value) => {
      if (!localStorage.getItem('taskflow.token')) localStorage.setItem('taskflow.token', value);
    }, token);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000); // well inside a test's time, so a wait that fails says what it waited for
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  return { context, page, problems };
}

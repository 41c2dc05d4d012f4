import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

/** Debian's Chromium; never a downloaded one. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

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

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import {
  ana,
  ben,
  benOnShortTokens,
  column,
  boardPath,
  browser,
  createTask,
  db,
  newBoard,
  node,
  open,
  org,
  project,
  serverTitles,
  tabs,
  useAcmeBoard,
} from './e2e/acme-board.js';
import { BoardPage } from './e2e/board-page.js';
import { type SignedInPage, signedInPage } from './e2e/browser.js';
import { addMember, api, registerUser, type TestUser } from './support/api.js';
import { captureMail } from './support/governance.js';
import { startServer } from './support/server.js';

// A session in the browser: short-lived tokens refreshed, a refresh that fails for now, and the board on a phone.
// The short tokens last 8 to 10 s: on a loaded machine a page can take seconds to come live, and a
// refresh due before it had would test the machine, not the session.
useAcmeBoard();

describe('a short-lived token', () => {
  it('is refreshed before it ends; the board reconnects with the new one and stays live', async () => {
    const { server: shortLived, token, tab, close } = await benOnShortTokens('8s');
    try {
      await tab.page.goto(`${shortLived.url}${boardPath()}`);
      const board = new BoardPage(tab.page);
      await board.waitLive();
      await board.recordStates();
      const tokens = new Set<string>([token]);
      // Twice refreshed: by then the first token has expired, and so has the socket it opened.
      await expect
        .poll(async () => tokens.add((await tab.page.evaluate(() => localStorage.getItem('taskflow.token'))) ?? '').size, {
          timeout: 25_000,
        })
        .toBeGreaterThanOrEqual(3);
      // The server ended the socket of the expired token; the page came back on a fresh one.
      await expect.poll(() => board.recordedStates(), { timeout: 15_000 }).toEqual(expect.arrayContaining(['reconnecting', 'live']));
      await createTask('Renew the domain', 'To do');
      // Each socket ends with its token (every 8 s here) and the page reconnects and catches up,
      // which on a loaded machine can take a cycle or two: the card must come, if not at once.
      await board.cardIn('To do', 'Renew the domain').waitFor({ timeout: 25_000 });
      await board.waitLive();
      expect(await tab.page.getByRole('alert').count()).toBe(0);
      expect(await tab.page.getByRole('button', { name: 'Sign in' }).count()).toBe(0);
    } finally {
      await close();
    }
  }, 60_000);
});

describe('a refresh that fails for now', () => {
  it('is tried again soon, so an idle board stays signed in past its token', async () => {
    const { server: shortLived, token, tab, close } = await benOnShortTokens('10s');
    let refreshes = 0;
    // The first refresh meets a server that is restarting (a deploy); the next ones get through.
    await tab.page.route('**/api/v1/auth/refresh', (route) =>
      ++refreshes === 1
        ? route.fulfill({ status: 503, body: '{"error":{"code":"UNAVAILABLE","message":"restarting"}}' })
        : route.continue(),
    );
    try {
      await tab.page.goto(`${shortLived.url}${boardPath()}`);
      const board = new BoardPage(tab.page);
      await board.waitLive();
      await board.recordStates();
      const stored = () => tab.page.evaluate(() => localStorage.getItem('taskflow.token'));
      const renewed = async () => ![null, token].includes(await stored());
      await expect.poll(renewed, { timeout: 20_000 }).toBe(true);
      expect(refreshes).toBeGreaterThanOrEqual(2);
      // The first token ends: the server closes its socket, and the page comes back on the new one.
      await expect.poll(() => board.recordedStates(), { timeout: 20_000 }).toEqual(expect.arrayContaining(['reconnecting', 'live']));
      await board.waitLive();
      expect(await tab.page.getByRole('button', { name: 'Sign in' }).count()).toBe(0);
    } finally {
      await close();
    }
  }, 60_000);
});

describe('a token that runs out while no refresh gets through', () => {
  it('signs the tab out once it has ended: the sign-in form, not a board offline for good', async () => {
    const { server: shortLived, tab, close } = await benOnShortTokens('10s');
    // The server is out of reach for every refresh (down past the token's end, say).
    await tab.page.route('**/api/v1/auth/refresh', (route) => route.abort('connectionrefused'));
    try {
      await tab.page.goto(`${shortLived.url}${boardPath()}`);
      await new BoardPage(tab.page).waitLive();
      await tab.page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 25_000 });
      expect(await tab.page.evaluate(() => localStorage.getItem('taskflow.token'))).toBeNull();
    } finally {
      await close();
    }
  }, 60_000);
});

describe('changes made while the connection is away, as the session ends', () => {
  /** Opens Launch on `url` in Ben's `tab`, takes the tab offline and adds a card there, shown as being added. */
  async function addCardOffline(tab: SignedInPage, url: string, title: string): Promise<BoardPage> {
    const { page } = tab;
    await page.goto(`${url}${boardPath()}`);
    const board = new BoardPage(page);
    await board.waitLive();
    await page.getByRole('button', { name: 'Add a card to To do' }).waitFor(); // the board joined and shown
    await tab.context.setOffline(true);
    await page.locator('.connection[data-state="reconnecting"]').waitFor();
    await addCard(page, title);
    await board
      .column('To do')
      .getByRole('listitem', { name: `${title}, being added` })
      .waitFor();
    return board;
  }

  async function addCard(page: Page, title: string): Promise<void> {
    await page.getByRole('button', { name: 'Add a card to To do' }).click();
    await page.getByLabel('New card in To do').fill(title);
    await page.getByLabel('New card in To do').press('Enter');
  }

  /**
   * Adds a card `title` now, which goes after any change the tab still held: once it has landed,
   * so would they have; the card `dropped` was not among them.
   */
  async function expectLandedWithout(board: BoardPage, title: string, dropped: string): Promise<void> {
    await addCard(board.page, title);
    await board.cardIn('To do', title).waitFor();
    const titles = await serverTitles(project.id, column('To do').id);
    expect(titles).toContain(title);
    expect(titles).not.toContain(dropped);
    expect(await board.card(dropped).count()).toBe(0);
  }

  /** Signs `who` (Ben unless told) in through the tab's form, online. */
  async function signInAgain(tab: SignedInPage, who: TestUser = ben): Promise<void> {
    await tab.context.setOffline(false);
    await tab.page.getByLabel('Email').fill(who.email);
    await tab.page.getByLabel('Password').fill('correct horse battery');
    await tab.page.getByRole('button', { name: 'Sign in' }).click();
  }

  it('keeps the changes made meanwhile through the sign-in form, and sends them once the same user signs in again', async () => {
    // 30 s: the page refreshes a token at half its life, and offline from then on it runs out
    // 15 to 30 s later, time enough for a loaded machine to add the card before it does.
    const { server: shortLived, tab, close } = await benOnShortTokens('30s');
    const { page } = tab;
    try {
      const board = await addCardOffline(tab, shortLived.url, 'Written as the session ran out');

      // The token ends with no refresh through: the sign-in form, which says the change still waits.
      await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 45_000 });
      await page.getByRole('status').filter({ hasText: '1 change you made is not saved yet' }).waitFor();
      await signInAgain(tab);
      await board.cardIn('To do', 'Written as the session ran out').waitFor({ timeout: 20_000 });
      expect(
        (await serverTitles(project.id, column('To do').id)).filter((title) => title === 'Written as the session ran out'),
      ).toHaveLength(1);
      expect(await page.getByRole('alert').count()).toBe(0);
    } finally {
      await close();
    }
  }, 120_000);

  it("are not kept through a sign-out of the user's own: the next sign-in in the tab sends nothing", async () => {
    const { server: other, tab, close } = await benOnShortTokens('1h');
    const { page } = tab;
    try {
      const board = await addCardOffline(tab, other.url, 'Written before signing out');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('heading', { name: 'Sign in' }).waitFor();
      await page.getByRole('alert').filter({ hasText: 'Could not add the card: you signed out before it was sent' }).waitFor();
      expect(await page.getByRole('status').filter({ hasText: 'not saved yet' }).count()).toBe(0);
      await signInAgain(tab);
      await board.waitLive();
      await expectLandedWithout(board, 'Written after signing in again', 'Written before signing out');
    } finally {
      await close();
    }
  }, 60_000);

  it('are dropped, untold, when another account signs in at the tab: not sent as theirs', async () => {
    const { user: signedOut, tab } = await memberInATabOfTheirOwn('signed-out');
    const { page } = tab;
    const board = await addCardOffline(tab, node.url, 'Written as the session ended');
    // The session is ended meanwhile from elsewhere (a password changed): back online, the tab is signed out, the change kept.
    expect((await api(node.url, 'POST', '/auth/sign-out-others', undefined, signedOut.token)).status).toBe(200);
    await tab.context.setOffline(false);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 20_000 });
    await page.getByRole('status').filter({ hasText: '1 change you made is not saved yet' }).waitFor();

    await signInAgain(tab, ana);
    await board.waitLive();
    await expectLandedWithout(board, 'Written by the next one', 'Written as the session ended');
    expect(await page.getByRole('alert').count()).toBe(0);
    expect(await page.getByRole('status').filter({ hasText: 'not saved yet' }).count()).toBe(0);
  });
});

describe('on a phone', () => {
  it('scrolls the columns sideways inside the board, not the page', async () => {
    const tab = await open(ana, boardPath(), { width: 390, height: 844 });
    const board = new BoardPage(tab.page);
    await board.cardIn('To do', 'Write the spec').waitFor();
    const sizes = await tab.page.evaluate(() => {
      const element = document.querySelector('.board')!;
      return { scroll: element.scrollWidth, client: element.clientWidth, page: document.documentElement.scrollWidth, width: innerWidth };
    });
    expect(sizes.scroll).toBeGreaterThan(sizes.client);
    expect(sizes.page).toBeLessThanOrEqual(sizes.width);
  });

  const PHONE = { width: 390, height: 844 };
  const TOUCH = { hasTouch: true, isMobile: true };

  it('drags a card with a finger held on it a moment; a tap opens it', async () => {
    const { path, project: phone, columns: phoneColumns } = await newBoard('Phone', ['Alpha', 'Bravo', 'Charlie', 'Delta']);
    const { page } = await open(ana, path, PHONE, TOUCH);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Delta').waitFor();
    await board.dragWithFinger('Alpha', 'Charlie');
    const toDo = phoneColumns.find((c) => c.name === 'To do')!.id;
    await expect.poll(() => serverTitles(phone.id, toDo)).toEqual(['Bravo', 'Charlie', 'Alpha', 'Delta']);
    expect(await page.getByRole('dialog').count()).toBe(0); // lifting the finger opened nothing
    await board.card('Bravo').tap();
    await page.getByRole('dialog', { name: 'Edit card' }).getByLabel('Title').waitFor();
  });

  it('keeps the tables of the members and settings pages to their own box, the page no wider than the phone', async () => {
    const key = await api(node.url, 'POST', `/orgs/${org.slug}/api-keys`, { name: 'Phone bot', permissions: ['tasks:write'] }, ana.token);
    expect(key.status).toBe(201);
    for (const screen of ['members', 'settings']) {
      const { page } = await open(ana, `/orgs/${org.slug}/${screen}`, PHONE);
      await page.locator('table.data-table').first().waitFor();
      const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, phone: innerWidth }));
      expect(widths.page, screen).toBeLessThanOrEqual(widths.phone);
    }
  });

  it('scrolls the columns, not the card, with a finger that moves at once', async () => {
    const { path, project: phone, columns: phoneColumns } = await newBoard('Swipe', ['Alpha', 'Bravo']);
    const { page } = await open(ana, path, PHONE, TOUCH);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Bravo').waitFor();
    const scrolled = () => page.locator('.board').evaluate((element) => element.scrollLeft);
    const before = await scrolled();
    await board.swipe('Alpha', -200);
    await expect.poll(scrolled).toBeGreaterThan(before + 100); // on to the next column
    expect(await page.locator('.card-overlay').count()).toBe(0);
    expect(await serverTitles(phone.id, phoneColumns.find((c) => c.name === 'To do')!.id)).toEqual(['Alpha', 'Bravo']);
  });
});

describe("an invitation's link, where accounts are made by invitation", () => {
  it('opens the sign-up form for the invited address, and the account it makes is in the org', async () => {
    const capture = captureMail();
    const invitedOnly = await startServer({ DATABASE_URL: db.url, REGISTRATION: 'invited' }, { mailer: capture.mailer });
    try {
      // The link as mailed (its token in the fragment), and as a link mailed before carried it (in the query string).
      for (const form of ['fragment', 'query'] as const) {
        const tab = await signedInPage(browser, null);
        tabs.push(tab);
        const page = tab.page;
        const email = `newbie-${form}-${Date.now().toString(36)}@example.test`;
        const invited = await api(invitedOnly.url, 'POST', `/orgs/${org.slug}/invites`, { email, role: 'member' }, ana.token);
        expect(invited.status).toBe(202);
        const link = new URL(/https?:\/\/\S+\/invite#\S+/.exec(capture.mails.find((mail) => mail.to === email)!.text)![0]);
        await page.goto(`${invitedOnly.url}${link.pathname}${form === 'fragment' ? link.hash : `?${link.hash.slice(1)}`}`);
        expect(await page.getByLabel('Email').inputValue()).toBe(email);
        await page.getByLabel('Name').fill('Newbie');
        await page.getByLabel('Password').fill('correct horse battery');
        await page.getByRole('button', { name: 'Create account' }).click();
        await expect.poll(() => page.getByRole('combobox', { name: 'Organization' }).locator('option').allInnerTexts()).toContain('Acme');
        const account = await db.query<{ org_id: string; role: string }>(
          'select m.org_id, m.role from memberships m join users u on u.id = m.user_id where u.email = $1',
          [email],
        );
        expect(account).toEqual([{ org_id: org.id, role: 'member' }]);
        await tab.context.close();
      }
    } finally {
      await invitedOnly.close();
    }
  });
});

describe('a forgotten password', () => {
  it('mails a link whose page sets a new password and signs in; the old one no longer works', async () => {
    const capture = captureMail();
    const mailing = await startServer({ DATABASE_URL: db.url }, { mailer: capture.mailer });
    const forgetful = await registerUser(mailing.url, 'forgetful');
    const tab = await signedInPage(browser, null);
    tabs.push(tab);
    try {
      const page = tab.page;
      await page.goto(mailing.url);
      await page.getByRole('button', { name: 'Forgot your password?' }).click();
      await page.getByLabel('Email').fill(forgetful.email);
      await page.getByRole('button', { name: 'Mail me a link' }).click();
      await expect.poll(() => page.getByRole('status').innerText()).toContain('If an account has this address');
      const link = new URL(/https?:\/\/\S+\/reset-password#\S+/.exec(capture.mails.find((mail) => mail.to === forgetful.email)!.text)![0]);

      await page.goto(`${mailing.url}${link.pathname}${link.hash}`);
      await page.getByLabel('New password', { exact: true }).fill('remembered at last');
      await page.getByRole('button', { name: 'Set password' }).click();
      await expect.poll(() => page.getByRole('heading', { level: 1 }).innerText()).toBe('Create your first organization');
      const login = (password: string) => api(mailing.url, 'POST', '/auth/login', { email: forgetful.email, password });
      expect((await login('correct horse battery')).status).toBe(401);
      expect((await login('remembered at last')).status).toBe(200);
      // The link, used, says so as its page opens, before any password is typed.
      await page.goto(`${mailing.url}${link.pathname}${link.hash}`);
      await page.getByRole('heading', { name: 'This link no longer works' }).waitFor();
      expect(await page.getByLabel('New password', { exact: true }).count()).toBe(0);
    } finally {
      await tab.context.close();
      await mailing.close();
    }
  });
});

describe('the account page', () => {
  it('changes the password: a tab of a session signed in before is signed out, this one carries on live', async () => {
    const mover = await registerUser(node.url, 'mover');
    await addMember(node.url, org, mover, 'member');
    const laptop = await open(mover, boardPath());
    const login = await api(node.url, 'POST', '/auth/login', { email: mover.email, password: 'correct horse battery' });
    const phone = await signedInPage(browser, login.body.token);
    tabs.push(phone);
    await phone.page.goto(`${node.url}${boardPath()}`);
    await new BoardPage(phone.page).waitLive();

    await laptop.page.getByRole('link', { name: /, your account$/ }).click();
    await laptop.page.getByLabel('Current password').fill('correct horse battery');
    await laptop.page.getByLabel('New password', { exact: true }).fill('a better secret');
    await laptop.page.getByRole('button', { name: 'Change password' }).click();
    await laptop.page.getByText('Password changed.').waitFor();

    // The phone's session was ended: its live connection closed, and it is back at sign-in.
    await phone.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // Signed out, the sign-in form's heading has the focus, and names the page.
    await expect.poll(() => phone.page.evaluate(() => document.activeElement?.textContent)).toBe('Sign in');
    expect(await phone.page.title()).toBe('Sign in · TaskFlow');
    // The laptop carries on, live with its fresh token.
    await laptop.page.goto(`${node.url}${boardPath()}`);
    const board = new BoardPage(laptop.page);
    await board.waitLive();
    await createTask('Made after the password change', 'To do');
    await board.cardIn('To do', 'Made after the password change').waitFor();
    expect(await laptop.page.getByRole('heading', { name: 'Sign in' }).count()).toBe(0);
  });

  it('signs out a tab that was offline while its session was ended, once it reconnects', async () => {
    const { user: traveller, tab: tablet } = await memberInATabOfTheirOwn('traveller');
    await tablet.page.goto(`${node.url}${boardPath()}`);
    const board = new BoardPage(tablet.page);
    await board.waitLive();
    await tablet.context.setOffline(true);
    await tablet.page.locator('.connection[data-state="reconnecting"]').waitFor();
    const changed = await api(node.url, 'POST', '/auth/sign-out-others', undefined, traveller.token);
    expect(changed.status).toBe(200);
    await tablet.context.setOffline(false);
    await tablet.page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 20_000 });
  });
});

/** A new member of Acme, signed in again in a tab: a session apart from `user.token`'s, which can end it. */
async function memberInATabOfTheirOwn(name: string): Promise<{ user: TestUser; tab: SignedInPage }> {
  const user = await registerUser(node.url, name);
  await addMember(node.url, org, user, 'member');
  const login = await api(node.url, 'POST', '/auth/login', { email: user.email, password: 'correct horse battery' });
  const tab = await signedInPage(browser, login.body.token);
  tabs.push(tab);
  return { user, tab };
}

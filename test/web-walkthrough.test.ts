import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ana, ben, benOnShortTokens, browser, node, open, org, tabs, useAcmeBoard } from './e2e/acme-board.js';
import { BoardPage } from './e2e/board-page.js';
import { signedInPage } from './e2e/browser.js';
import { addMember, api, createOrg, createProject, registerUser } from './support/api.js';

// What a usability walkthrough of the web board found: an invitation link opened while signed in
// as someone else, one that no longer stands, a sign-out the user did not ask for, and words and
// names on the members, projects and settings pages.
useAcmeBoard();

/** A link as an invitation's mail carries it (`server/orgs/invites.service.ts`). */
const inviteLink = (email: string, token = 'a-token-of-the-mail') => `/invite#token=${token}&email=${encodeURIComponent(email)}`;
const newAddress = (name: string) => `${name}-${Date.now().toString(36)}@example.test`;

describe('an invitation link opened while signed in', () => {
  it('as another account: says whom it is for and who is signed in, and signs out to go on with it', async () => {
    const invited = newAddress('invited');
    const { page } = await open(ben, inviteLink(invited));
    await page.getByRole('heading', { name: 'An invitation for another account' }).waitFor();
    const text = await page.locator('main').innerText();
    expect(text).toContain(`This invitation is for ${invited}`);
    expect(text).toContain(`you are signed in as ${ben.email.toLowerCase()}`); // as the server keeps it
    expect(new URL(page.url()).pathname).toBe('/invite'); // not sent on to Ben's org

    await page.getByRole('button', { name: 'Sign out and continue with the invitation' }).click();
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    expect(await page.getByLabel('Email').inputValue()).toBe(invited);
    expect(await page.evaluate(() => localStorage.getItem('taskflow.token'))).toBeNull();
    expect(await page.getByRole('status').filter({ hasText: 'You were signed out' }).count()).toBe(0); // the user's own doing
  });

  it('as another account: goes on to their boards if they choose', async () => {
    const { page } = await open(ben, inviteLink(newAddress('someone')));
    await page.getByRole('button', { name: 'Go to your boards' }).click();
    await page.waitForURL(`**/orgs/${org.slug}`);
    await page.getByRole('heading', { name: 'Acme' }).waitFor();
  });

  it("as the invited address's account: goes to the org, as before", async () => {
    const { page } = await open(ben, inviteLink(ben.email.toUpperCase()));
    await page.waitForURL(`**/orgs/${org.slug}`);
    await page.getByRole('heading', { name: 'Acme' }).waitFor();
    expect(await page.getByRole('heading', { name: 'An invitation for another account' }).count()).toBe(0);
  });
});

describe('signing up from an invitation link', () => {
  async function signUp(page: Page, link: string) {
    await page.goto(`${node.url}${link}`);
    await page.getByLabel('Name').fill('Newbie');
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Create account' }).click();
  }

  it('that was withdrawn: the page for a first org says the invitation no longer stands', async () => {
    const email = newAddress('withdrawn');
    const invited = await api(node.url, 'POST', `/orgs/${org.slug}/invites`, { email, role: 'member' }, ana.token);
    expect(invited.status).toBe(202);
    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/invites/${invited.body.invite.id}`, undefined, ana.token)).status).toBe(204);
    const tab = await signedInPage(browser, null);
    tabs.push(tab);
    await signUp(tab.page, inviteLink(email));
    await tab.page.getByRole('heading', { name: 'Create your first organization' }).waitFor();
    await tab.page
      .getByRole('alert')
      .filter({ hasText: 'That invitation is no longer valid (withdrawn, expired or already used): ask for a new one.' })
      .waitFor();
    await tab.context.close();
  });

  it('that still stands: lands in the org, with no such notice', async () => {
    const email = newAddress('welcome');
    expect((await api(node.url, 'POST', `/orgs/${org.slug}/invites`, { email, role: 'member' }, ana.token)).status).toBe(202);
    const tab = await signedInPage(browser, null);
    tabs.push(tab);
    await signUp(tab.page, inviteLink(email));
    await tab.page.waitForURL(`**/orgs/${org.slug}`);
    await tab.page.getByRole('heading', { name: 'Acme' }).waitFor();
    expect(await tab.page.getByText('That invitation is no longer valid').count()).toBe(0);
    await tab.context.close();
  });
});

describe('signed out by what happened elsewhere', () => {
  const REASON = 'You were signed out: your session was ended (the password was changed, or every session was signed out).';

  it('says the session was ended, when every other session was signed out from another device', async () => {
    const roamer = await registerUser(node.url, 'roamer');
    await addMember(node.url, org, roamer, 'member');
    const { page } = await open(roamer, `/orgs/${org.slug}`);
    await page.getByRole('heading', { name: 'Acme' }).waitFor();
    await new BoardPage(page).waitLive();
    // From another device: a session of its own, which signs out every other.
    const elsewhere = await api(node.url, 'POST', '/auth/login', { email: roamer.email, password: 'correct horse battery' });
    expect((await api(node.url, 'POST', '/auth/sign-out-others', undefined, elsewhere.body.token)).status).toBe(200);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.getByRole('status').filter({ hasText: REASON }).waitFor();
    // Signing in again, then out of one's own accord, says nothing of the kind.
    await page.getByLabel('Email').fill(roamer.email);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByText('You were signed out').count()).toBe(0);
  });

  it('says nothing when the user signs out themselves', async () => {
    const { page } = await open(ben, `/orgs/${org.slug}`);
    await page.getByRole('heading', { name: 'Acme' }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    expect(await page.getByText('You were signed out').count()).toBe(0);
    expect(await page.getByText('Your session expired').count()).toBe(0);
  });

  it('says the session expired, when the token ran out with the server out of reach', async () => {
    const { server: shortLived, tab, close } = await benOnShortTokens('10s');
    await tab.page.route('**/api/v1/auth/refresh', (route) => route.abort('connectionrefused'));
    try {
      await tab.page.goto(`${shortLived.url}/orgs/${org.slug}`);
      await tab.page.getByRole('heading', { name: 'Acme' }).waitFor();
      await tab.page.getByRole('heading', { name: 'Sign in' }).waitFor({ timeout: 25_000 });
      await tab.page.getByRole('status').filter({ hasText: 'Your session expired: sign in again.' }).waitFor();
      expect(await tab.page.getByText('You were signed out').count()).toBe(0);
    } finally {
      await close();
    }
  }, 60_000);
});

describe('the members page', () => {
  it('names the Apply button by what it shows first, so that “click Apply” reaches it', async () => {
    const { page } = await open(ana, `/orgs/${org.slug}/members`);
    await page.getByLabel('Role of Ben').selectOption('viewer');
    const apply = page.getByRole('button', { name: 'Apply: make Ben viewer', exact: true });
    expect(await apply.innerText()).toBe('Apply');
    expect(await page.getByRole('button', { name: /^Apply/ }).count()).toBe(1);
    await page.getByLabel('Role of Ben').selectOption('member'); // back as it was: nothing applied
    await expect.poll(() => apply.count()).toBe(0);
  });
});

describe('the org switcher', () => {
  it('shows its placeholder whole on the account page, and "+ New organization…" on that page', async () => {
    const { page } = await open(ana, '/account');
    await page.getByRole('heading', { name: 'Your account', exact: true }).waitFor();
    const switcher = page.getByRole('combobox', { name: 'Organization' });
    const shown = () => switcher.evaluate((select: HTMLSelectElement) => select.selectedOptions[0]?.textContent);
    expect(await shown()).toBe('Organization…');
    // The text shown fits in the box, beside its arrow.
    const room = await switcher.evaluate((select: HTMLSelectElement) => {
      const style = getComputedStyle(select);
      const context = document.createElement('canvas').getContext('2d')!;
      context.font = style.font;
      const inside = select.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      return { text: context.measureText(select.selectedOptions[0]!.textContent!).width, inside };
    });
    expect(room.text + 16).toBeLessThanOrEqual(room.inside); // 16px: the arrow

    await page.goto(`${node.url}/orgs/new`);
    await page.getByRole('heading', { name: 'New organization' }).waitFor();
    expect(await shown()).toBe('+ New organization…');
    expect(await page.getByRole('button', { name: 'Open' }).count()).toBe(0);
  });
});

describe('the projects page', () => {
  it('says there is no active project, not none at all, when some are archived', async () => {
    const owner = await registerUser(node.url, 'Archivist');
    const own = await createOrg(node.url, owner);
    const { project } = await createProject(node.url, own, 'Old plans');
    const archived = await api(node.url, 'PATCH', `/orgs/${own.slug}/projects/${project.id}`, { status: 'archived' }, owner.token);
    expect(archived.status).toBe(200);
    const { page } = await open(owner, `/orgs/${own.slug}`);
    await page.getByText('Archived projects (1)').waitFor();
    await page.getByText('No active projects: create one below.').waitFor();
    expect(await page.getByText('No projects yet').count()).toBe(0);
  });
});

describe('the audit log', () => {
  it('names a member who left once, and shows no invitation ids', async () => {
    const owner = await registerUser(node.url, 'Olga');
    const own = await createOrg(node.url, owner);
    await api(node.url, 'PATCH', `/orgs/${own.slug}`, { name: 'Olga Co' }, owner.token);
    // Pat joins by signing up from an invitation (its entry records the invitation's id), then leaves.
    const patEmail = newAddress('pat');
    expect((await api(node.url, 'POST', `/orgs/${own.slug}/invites`, { email: patEmail, role: 'member' }, owner.token)).status).toBe(202);
    const pat = await api(node.url, 'POST', '/auth/register', { email: patEmail, password: 'correct horse battery', name: 'Pat' });
    expect(pat.status).toBe(201);
    expect((await api(node.url, 'DELETE', `/orgs/${own.slug}/members/${pat.body.user.id}`, undefined, pat.body.token)).status).toBe(204);

    const { page } = await open(owner, `/orgs/${own.slug}/settings`);
    const log = page.getByRole('table', { name: 'Audit log' });
    await log.getByRole('row').nth(1).waitFor();
    const rows = await log.getByRole('row').allInnerTexts();
    const left = rows.find((row) => row.includes('member.left'))!;
    expect(left).toMatch(/Pat\s+member\.left\s+left, was member/);
    expect(left).not.toContain('a former member');
    const added = rows.find((row) => /member\.added/.test(row))!;
    expect(added).toMatch(/Pat\s+member\.added\s+via invite · role member$/); // not named twice either
    expect(rows.join('\n')).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/);
  });
});

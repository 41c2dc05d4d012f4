import { describe, expect, it } from 'vitest';
import {
  ana,
  ben,
  boardPath,
  browser,
  cy,
  cyOrg,
  dee,
  newBoard,
  node,
  open,
  org,
  patchTask,
  project,
  serverBoard,
  setRole,
  tabs,
  useAcmeBoard,
} from './e2e/acme-board.js';
import { BoardPage } from './e2e/board-page.js';
import { type SignedInPage, signedInPage } from './e2e/browser.js';
import { withoutServerEvents } from './e2e/socket-frames.js';
import { addMember, api, registerUser } from './support/api.js';

// Who sees what in the browser: roles changed and members removed while a page is open, viewers, invitations, orgs and another org's user.
useAcmeBoard();

describe('a membership changed while the page is open', () => {
  it("makes a member's open board read-only when lowered to viewer, saying so, and editable again when raised back", async () => {
    const { path, project: roles } = await newBoard('Roles', ['Read me']);
    const { page } = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();
    const addCard = page.getByRole('button', { name: /^Add a card to / });
    const columnActions = page.getByRole('button', { name: /^Column actions for / });
    await board.card('Read me').waitFor();
    expect(await addCard.count()).toBe(3);
    expect(await columnActions.count()).toBe(3);
    try {
      await setRole(ben, 'viewer');
      await expect.poll(() => addCard.count()).toBe(0);
      // and says why
      await page
        .getByRole('status')
        .filter({ hasText: 'Your role in Acme is now viewer: you can read its boards, not change them.' })
        .waitFor();
      expect(await page.getByLabel('New column name').count()).toBe(0);
      expect(await columnActions.count()).toBe(0);
      expect(await board.card('Read me').getAttribute('aria-roledescription')).toBeNull(); // no longer draggable
      await board.card('Read me').click();
      const dialog = page.getByRole('dialog', { name: 'Read me' });
      expect(await dialog.getByLabel('Title').isDisabled()).toBe(true);
      expect(await dialog.getByRole('button', { name: 'Save' }).count()).toBe(0);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' });
    } finally {
      await setRole(ben, 'member');
    }
    await expect.poll(() => addCard.count()).toBe(3);
    expect(await columnActions.count()).toBe(3);
    expect(await board.card('Read me').getAttribute('aria-roledescription')).toBe('sortable');
    await board.card('Read me').click();
    await page.getByRole('dialog', { name: 'Edit card' }).getByLabel('Title').fill('Read me, then edit me');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect.poll(async () => (await serverBoard(roles.id)).tasks[0]?.title).toBe('Read me, then edit me');
  });

  it("tells a member whose board turned read-only under an open card's unsaved changes that they were not saved", async () => {
    const { path, tasks } = await newBoard('Demotions', ['Draft me']);
    const { page } = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Draft me').click();
    const title = page.getByRole('dialog').getByLabel('Title');
    await title.fill('Draft by Ben');
    try {
      await setRole(ben, 'viewer');
      await page
        .getByRole('alert')
        .filter({ hasText: 'You can no longer edit this board (your role changed, or it was archived): your changes here were not saved.' })
        .waitFor();
      expect(await title.isDisabled()).toBe(true);
      expect(await title.inputValue()).toBe('Draft by Ben');
    } finally {
      await setRole(ben, 'member');
    }
    expect((await serverBoard(tasks[0]!.projectId)).tasks[0]?.title).toBe('Draft me');
  });

  it("shows a removed member's cards as a former member's, which the card dialog can unassign", async () => {
    const { path, tasks } = await newBoard('Leavers', ['Hand over']);
    const gus = await registerUser(node.url, 'Gus');
    await addMember(node.url, org, gus, 'member');
    await patchTask(tasks[0]!, { assigneeId: gus.user.id });
    const { page } = await open(ana, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Hand over').getByLabel('Gus', { exact: true }).waitFor(); // his avatar

    const removed = await api(node.url, 'DELETE', `/orgs/${org.slug}/members/${gus.user.id}`, undefined, ana.token);
    expect(removed.status).toBe(204);
    await board.card('Hand over').getByLabel('Former member', { exact: true }).waitFor();
    expect((await serverBoard(tasks[0]!.projectId)).tasks[0]?.assigneeId).toBe(gus.user.id);
    await board.card('Hand over').click();
    const assignee = page.getByRole('dialog', { name: 'Edit card' }).getByLabel('Assignee');
    expect(await assignee.locator('option:checked').innerText()).toBe('Former member');
    await assignee.selectOption({ label: 'Unassigned' });
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    expect((await serverBoard(tasks[0]!.projectId)).tasks[0]?.assigneeId).toBeNull();
    await expect.poll(() => board.card('Hand over').locator('.avatar').count()).toBe(0);
  });

  it('adds an org to the switcher of someone added to it', async () => {
    const eve = await registerUser(node.url, 'Eve');
    const { page } = await open(eve, '/');
    await page.getByRole('button', { name: 'Create organization' }).waitFor(); // no org yet
    await addMember(node.url, org, eve, 'member');
    const switcher = page.getByRole('combobox', { name: 'Organization' });
    await expect.poll(() => switcher.locator('option').allInnerTexts()).toContain('Acme');
  });

  it('takes the org away from a member removed from it, told only by `access:revoked`', async () => {
    const { path } = await newBoard('Guests', ['Visit']);
    const fred = await registerUser(node.url, 'Fred');
    await addMember(node.url, org, fred, 'member');
    // Across nodes the kick can beat the org's `member.removed`, and the page hears only `access:revoked`.
    const tab = await signedInPage(browser, fred.token);
    tabs.push(tab);
    await tab.context.routeWebSocket(/\/socket\.io\//, withoutServerEvents(['org:event']));
    const { page } = tab;
    await page.goto(`${node.url}${path}`);
    await new BoardPage(page).card('Visit').waitFor();
    const switcher = page.getByRole('combobox', { name: 'Organization' });
    expect(await switcher.locator('option').allInnerTexts()).toContain('Acme');

    const removed = await api(node.url, 'DELETE', `/orgs/${org.slug}/members/${fred.user.id}`, undefined, ana.token);
    expect(removed.status).toBe(204);
    await page.getByRole('alert').filter({ hasText: 'You cannot open this organization' }).waitFor();
    expect(await switcher.locator('option').allInnerTexts()).not.toContain('Acme');
    expect(await page.locator('li.card').count()).toBe(0);
  });
});

describe('members and labels that appear while the board is open', () => {
  it('offers a newcomer as an assignee at once, and shows them on the card assigned to them', async () => {
    const { path, tasks } = await newBoard('Newcomers', ['Welcome']);
    const { page } = await open(ana, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Welcome').click();
    const assignee = page.getByRole('dialog', { name: 'Edit card' }).getByLabel('Assignee');
    await assignee.waitFor();
    const fay = await registerUser(node.url, 'Fay');
    await addMember(node.url, org, fay, 'member');
    await expect.poll(() => assignee.locator('option').allInnerTexts()).toContain('Fay');
    await page.keyboard.press('Escape');

    await patchTask(tasks[0]!, { title: 'Welcome Fay', assigneeId: fay.user.id });
    await board.card('Welcome Fay').getByLabel('Fay', { exact: true }).waitFor(); // her avatar
    await board.card('Welcome Fay').click();
    expect(await assignee.locator('option:checked').innerText()).toBe('Fay');
  });

  it('shows a label a teammate made since, on the card and in its dialog', async () => {
    const { path, tasks } = await newBoard('Labels', ['Tag me']);
    const { page } = await open(ana, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Tag me').waitFor();
    const name = `ops-${Date.now().toString(36)}`;
    const label = await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name, color: '#0e8a16' }, ben.token);
    expect(label.status).toBe(201);
    await patchTask(tasks[0]!, { title: 'Tagged', labelIds: [label.body.id] });
    await board.card('Tagged').locator('.label-chip', { hasText: name }).waitFor();
    await board.card('Tagged').click();
    expect(await page.getByRole('dialog', { name: 'Edit card' }).getByRole('checkbox', { name }).isChecked()).toBe(true);
  });
});

describe('a new label named as one the org has', () => {
  it('picks that label in the card dialog, its name typed with the accent composed or apart, and makes none', async () => {
    const { path, tasks } = await newBoard('Cafes', ['Order coffee']);
    const made = await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'Café', color: '#1d76db' }, ana.token);
    expect(made.status).toBe(201);
    const before = (await api<unknown[]>(node.url, 'GET', `/orgs/${org.slug}/labels`, undefined, ana.token)).body.length;
    const { page } = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Order coffee').click();
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    const cafe = dialog.getByRole('checkbox', { name: 'Café' });
    await cafe.waitFor();
    await dialog.getByLabel('New label').fill('  Cafe\u0301 ');
    await dialog.getByLabel('New label').press('Enter');
    await expect.poll(() => cafe.isChecked()).toBe(true);
    expect(await dialog.getByLabel('New label').inputValue()).toBe('');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await serverBoard(tasks[0]!.projectId)).tasks[0]?.labelIds).toEqual([made.body.id]);
    expect((await api<unknown[]>(node.url, 'GET', `/orgs/${org.slug}/labels`, undefined, ana.token)).body.length).toBe(before);
    expect(await page.getByRole('alert').filter({ hasText: 'Could not create the label' }).count()).toBe(0);
  });
});

describe('a viewer', () => {
  it('sees no column controls, where a member sees them on each column', async () => {
    const { path } = await newBoard('Viewing', ['Look only']);
    const member = (await open(ana, path)).page;
    await member.getByRole('button', { name: 'Column actions for Done' }).waitFor();
    expect(await member.getByRole('button', { name: /^Column actions for / }).count()).toBe(3);
    const hal = await registerUser(node.url, 'Hal');
    await addMember(node.url, org, hal, 'viewer');
    const { page } = await open(hal, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.cardIn('To do', 'Look only').waitFor();
    expect(await page.locator('section.column').count()).toBe(3);
    expect(await page.getByRole('button', { name: /^Column actions for / }).count()).toBe(0);
    expect(await page.getByRole('menu').count()).toBe(0);
    expect(await page.locator('.column-header button').count()).toBe(0);
    expect(await page.getByLabel('New column name').count()).toBe(0);
  });

  it('opens a card to read it, which is not "disabled", and is not shown to teammates as editing it', async () => {
    const { path } = await newBoard('Reading', ['Read only']);
    const gus = await registerUser(node.url, 'Gus');
    await addMember(node.url, org, gus, 'viewer');
    const tab = await signedInPage(browser, gus.token);
    tabs.push(tab);
    const { page } = tab;
    const sent: string[] = [];
    page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => sent.push(String(payload))));
    await page.goto(`${node.url}${path}`);
    const board = new BoardPage(page);
    await board.waitLive();

    expect(await board.card('Read only').getAttribute('aria-disabled')).toBeNull();
    await board.card('Read only').click(); // playwright would wait for an aria-disabled element to be enabled
    const dialog = page.getByRole('dialog', { name: 'Read only' });
    await dialog.waitFor();
    // The focus is on its heading, which says the card's title, not on "Copy link", which a Space would press.
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Read only');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // Leaving the board is said on the same socket after anything the dialog said.
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Projects' }).click();
    await expect.poll(() => sent.some((frame) => frame.includes('"board:leave"'))).toBe(true);
    expect(sent.filter((frame) => frame.includes('"presence:update"'))).toEqual([]);
  });
});

describe('members and invitations', () => {
  it('lets an admin invite someone, see the invitation until it is taken, and change a role, applied only once chosen', async () => {
    const { page } = await open(ana, boardPath());
    await new BoardPage(page).waitLive();
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Members' }).click();
    await page.getByLabel('Role of Dee').waitFor();
    // The new screen names the page and takes the focus, which a screen reader then reads out.
    expect(await page.title()).toBe('Members of Acme · TaskFlow');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Members of Acme');
    // The page's first Tab stop, before the header's, skips to the screen's content.
    await page.getByRole('link', { name: 'TaskFlow', exact: true }).focus();
    await page.keyboard.press('Shift+Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('main');
    const newcomer = `newcomer-${Date.now()}@example.test`;
    const form = page.getByRole('form', { name: 'Invite' });
    await form.getByLabel('Email').fill(newcomer);
    await form.getByRole('button', { name: 'Invite' }).click();
    await page.getByRole('list', { name: 'Pending invitations' }).getByText(newcomer).waitFor();

    // A keyboard user goes through the list with the arrow keys (member → admin → owner, and back to
    // viewer): nothing is applied until the button is pressed.
    const roles = page.getByLabel('Role of Dee');
    await roles.focus();
    for (const key of ['ArrowDown', 'ArrowDown', 'ArrowUp', 'ArrowUp', 'ArrowUp']) await page.keyboard.press(key);
    expect(await roles.inputValue()).toBe('viewer');
    await page.getByRole('button', { name: 'Apply: make Dee viewer' }).click();
    await page.getByRole('status').filter({ hasText: 'Dee is now viewer.' }).waitFor();
    await expect
      .poll(
        async () =>
          (await api(node.url, 'GET', `/orgs/${org.slug}/members`, undefined, ana.token)).body.find((m: any) => m.user.id === dee.user.id)
            ?.role,
      )
      .toBe('viewer');
    const changes = await api(node.url, 'GET', `/orgs/${org.slug}/audit-log?action=member.role_changed&limit=200`, undefined, ana.token);
    const dees = changes.body.entries.filter((entry: { entityId: string }) => entry.entityId === dee.user.id);
    expect(dees.map((entry: { details: unknown }) => entry.details)).toEqual([{ from: 'member', to: 'viewer' }]);
    const invites = await api(node.url, 'GET', `/orgs/${org.slug}/invites`, undefined, ana.token);
    expect(invites.body.map((invite: { email: string }) => invite.email)).toContain(newcomer);

    // The newcomer signs up: they join the list of members, and leave the pending invitations, live,
    // where another invitation stays.
    const later = `later-${Date.now()}@example.test`;
    await form.getByLabel('Email').fill(later);
    await form.getByRole('button', { name: 'Invite' }).click();
    const pending = page.getByRole('list', { name: 'Pending invitations' });
    await pending.getByText(later).waitFor();
    const signedUp = await api(node.url, 'POST', '/auth/register', {
      email: newcomer,
      password: 'correct horse battery',
      name: 'Newcomer',
    });
    expect(signedUp.status).toBe(201);
    await page.getByLabel('Role of Newcomer').waitFor();
    await pending.getByText(newcomer).waitFor({ state: 'detached' });
    expect(await pending.getByText(later).isVisible()).toBe(true);
    await page.goBack();
    await new BoardPage(page).waitLive();
  });
});

describe('organizations and projects', () => {
  it('creates an organization and a project from the switcher, and opens its empty board', async () => {
    const tab = await open(cy, '/');
    const page = tab.page;
    const switcher = page.getByRole('combobox', { name: 'Organization' });
    await page.getByRole('heading', { name: `Org ${cyOrg.slug}` }).waitFor(); // his org's projects
    // The arrow keys pick without opening (each would open the org it passed over); Enter opens.
    await switcher.focus();
    await page.keyboard.press('ArrowDown');
    expect(await switcher.inputValue()).toBe('__new__');
    await page.getByRole('button', { name: 'Open' }).waitFor();
    expect(new URL(page.url()).pathname).toBe(`/orgs/${cyOrg.slug}`);
    await page.keyboard.press('Enter');
    await page.getByLabel('Name').fill('Cy Labs');
    // The address it will have is shown as the name is typed.
    expect(await page.locator('#org-address-hint strong').innerText()).toBe('cy-labs');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.getByRole('heading', { name: 'Cy Labs' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/orgs/cy-labs');
    await page.getByLabel('Project name').fill('Roadmap');
    await page.getByRole('button', { name: 'Create project' }).click();
    const board = new BoardPage(page);
    await board.column('Done').waitFor();
    expect(await page.getByRole('heading', { level: 1 }).innerText()).toBe('Roadmap');
    expect(await page.locator('section.column').count()).toBe(3);
    const me = await api(node.url, 'GET', '/me', undefined, cy.token);
    expect(me.body.memberships.map((m: { org: { name: string } }) => m.org.name).sort()).toEqual(['Cy Labs', `Org ${cyOrg.slug}`]);
  });
});

describe('a user of another org', () => {
  let cyTab: SignedInPage;

  it("lists only their own org's projects", async () => {
    cyTab = await open(cy, '/');
    const page = cyTab.page;
    await page
      .getByRole('list', { name: 'Projects' })
      .getByRole('link', { name: /Secret plans/ })
      .waitFor();
    expect(new URL(page.url()).pathname).toBe(`/orgs/${cyOrg.slug}`);
    expect(await page.getByRole('list', { name: 'Projects' }).innerText()).not.toContain('Launch');
  });

  it("is denied the other org's board, by its URL and under their own org", async () => {
    const page = cyTab.page;
    await page.goto(`${node.url}${boardPath()}`);
    await page.getByRole('alert').filter({ hasText: 'You cannot open this organization' }).waitFor();

    await page.goto(`${node.url}/orgs/${cyOrg.slug}/projects/${project.id}`);
    await page.getByRole('alert').filter({ hasText: 'You cannot open this board' }).waitFor();
    const text = await page.locator('body').innerText();
    for (const title of ['Launch', 'Write the spec', 'Ship it', 'Kick-off meeting']) expect(text).not.toContain(title);
    expect(await page.locator('li.card').count()).toBe(0);
  });
});

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { BoardSnapshot, ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { BoardPage } from './e2e/board-page.js';
import { buildWebBoard, launchChromium, type SignedInPage, signedInPage } from './e2e/browser.js';
import { countCardRenders, takeCardRenders } from './e2e/render-counter.js';
import { HeldFrames, withoutServerEvents } from './e2e/socket-frames.js';
import { StaleMoves } from './e2e/stale-moves.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, ok } from './support/sockets.js';

const SCREENSHOT = fileURLToPath(new URL('./e2e/screenshots/board.png', import.meta.url));

let db: TestDatabase;
let node: RunningServer;
let browser: Browser;
let org: TestOrg;
let ana: TestUser;
let ben: TestUser;
let dee: TestUser;
let cy: TestUser;
let cyOrg: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];
let anaTab: SignedInPage;
let benTab: SignedInPage;
const tabs: SignedInPage[] = [];

const column = (name: string) => columns.find((c) => c.name === name)!;

async function createTask(
  title: string,
  columnName: string,
  extra: Record<string, unknown> = {},
  on: { project: ProjectJson; columns: ColumnJson[] } = { project, columns },
): Promise<TaskJson> {
  const columnId = on.columns.find((c) => c.name === columnName)!.id;
  const answer = await api(node.url, 'POST', `/orgs/${org.slug}/projects/${on.project.id}/tasks`, { columnId, title, ...extra }, ana.token);
  if (answer.status !== 201) throw new Error(`create task: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.task;
}

/** A board of its own for one test: a new project of Acme with these cards in "To do". */
async function newBoard(name: string, titles: string[]) {
  const made = await createProject(node.url, org, name);
  const tasks: TaskJson[] = [];
  for (const title of titles) tasks.push(await createTask(title, 'To do', {}, made));
  return { ...made, tasks, path: `/orgs/${org.slug}/projects/${made.project.id}` };
}

/** Ana changes a card, as a teammate would. */
async function patchTask(task: TaskJson, patch: Record<string, unknown>): Promise<void> {
  const answer = await api(node.url, 'PATCH', `/orgs/${org.slug}/tasks/${task.id}`, patch, ana.token);
  expect(answer.status).toBe(200);
}

/** Ana, the owner, changes someone's role in Acme. */
async function setRole(user: TestUser, role: string): Promise<void> {
  const answer = await api(node.url, 'PATCH', `/orgs/${org.slug}/members/${user.user.id}`, { role }, ana.token);
  expect(answer.status).toBe(200);
}

/** The board as the server has it. */
async function serverBoard(projectId = project.id): Promise<BoardSnapshot> {
  const answer = await api<BoardSnapshot>(node.url, 'GET', `/orgs/${org.slug}/projects/${projectId}`, undefined, ana.token);
  expect(answer.status).toBe(200);
  return answer.body;
}

/** The titles of a column's cards, in the server's order (positions compare as plain bytes). */
async function serverTitles(projectId: string, columnId: string): Promise<string[]> {
  const tasks = (await serverBoard(projectId)).tasks.filter((task) => task.columnId === columnId);
  return tasks.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0)).map((task) => task.title);
}

async function serverTask(title: string): Promise<TaskJson | undefined> {
  return (await serverBoard()).tasks.find((task) => task.title === title);
}

async function open(
  user: TestUser,
  path: string,
  viewport?: { width: number; height: number },
  device?: Parameters<typeof signedInPage>[3],
): Promise<SignedInPage> {
  const tab = await signedInPage(browser, user.token, viewport, device);
  tabs.push(tab);
  await tab.page.goto(`${node.url}${path}`);
  return tab;
}

const boardPath = () => `/orgs/${org.slug}/projects/${project.id}`;

beforeAll(async () => {
  await buildWebBoard(); // before the server starts: it serves client/web/dist when it is there
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  [ana, ben, dee, cy] = await Promise.all(['Ana', 'Ben', 'Dee', 'Cy'].map((name) => registerUser(node.url, name)));
  org = await createOrg(node.url, ana);
  await api(node.url, 'PATCH', `/orgs/${org.slug}`, { name: 'Acme' }, ana.token);
  await addMember(node.url, org, ben, 'member');
  await addMember(node.url, org, dee, 'member');
  ({ project, columns } = await createProject(node.url, org, 'Launch'));
  const label = (await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'backend', color: '#1d76db' }, ana.token)).body;
  await createTask('Write the spec', 'To do', { priority: 2, assigneeId: ben.user.id, dueDate: '2031-03-14' });
  await createTask('Design the schema', 'To do', { priority: 3, labelIds: [label.id] });
  await createTask('Set up CI', 'To do', { priority: 1 });
  await createTask('Ship it', 'In progress', { priority: 4, assigneeId: ana.user.id });
  await createTask('Kick-off meeting', 'Done');
  cyOrg = await createOrg(node.url, cy);
  await createProject(node.url, cyOrg, 'Secret plans');
  browser = await launchChromium();
}, 180_000);

beforeEach(({ onTestFailed }) => {
  // A failing test says what the pages complained about.
  onTestFailed(() => {
    for (const tab of tabs) if (tab.problems.length) console.error(tab.problems.join('\n'));
  });
});

afterAll(async () => {
  closeAllSockets();
  await browser?.close();
  await node?.close();
  await db?.drop();
});

describe('the live board in two browsers', () => {
  it('signs a teammate in through the form and opens the same board, live, with both on it', async () => {
    anaTab = await open(ana, boardPath());
    benTab = await signedInPage(browser, null); // no token: the sign-in form
    tabs.push(benTab);
    const page = benTab.page;
    await page.goto(`${node.url}/`);
    await page.getByLabel('Email').fill(ben.email);
    await page.getByLabel('Password').fill('correct horse battery');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: /Launch/ }).click(); // lands on the org's projects
    expect(await page.evaluate(() => localStorage.getItem('taskflow.token'))).toBeTruthy();

    for (const tab of [anaTab, benTab]) {
      const board = new BoardPage(tab.page);
      await board.waitLive();
      await board.cardIn('To do', 'Write the spec').waitFor();
      await board.cardIn('In progress', 'Ship it').waitFor();
      await tab.page.locator('.presence [data-viewer="Ana"]').waitFor();
      await tab.page.locator('.presence [data-viewer="Ben"]').waitFor();
    }
    expect(new URL(page.url()).pathname).toBe(boardPath());
  });

  it('moves a card with the keyboard, and the teammate sees it move', async () => {
    await new BoardPage(anaTab.page).moveWithKeyboard('Write the spec', 'ArrowRight', 'In progress');
    await new BoardPage(anaTab.page).cardIn('In progress', 'Write the spec').waitFor(); // at once, on the mover's board
    await new BoardPage(benTab.page).cardIn('In progress', 'Write the spec').waitFor();
    await expect.poll(async () => (await serverTask('Write the spec'))?.columnId).toBe(column('In progress').id);
  });

  it('drags a card with the mouse, and the teammate sees it move', async () => {
    await new BoardPage(benTab.page).dragWithMouse('Set up CI', 'Done');
    await new BoardPage(anaTab.page).cardIn('Done', 'Set up CI').waitFor();
    await expect.poll(async () => (await serverTask('Set up CI'))?.columnId).toBe(column('Done').id);
    expect(await new BoardPage(anaTab.page).column('To do').locator('li.card').allInnerTexts()).not.toContainEqual(
      expect.stringContaining('Set up CI'),
    );
  });

  it("adds a card, and it appears on the teammate's board", async () => {
    const page = anaTab.page;
    await page.getByRole('button', { name: 'Add a card to To do' }).click();
    await page.getByLabel('New card in To do').fill('Write release notes');
    await page.getByLabel('New card in To do').press('Enter');
    await new BoardPage(benTab.page).cardIn('To do', 'Write release notes').waitFor();
  });

  it('edits a title in the card dialog: the teammate sees "editing", then the new title', async () => {
    const ben = new BoardPage(benTab.page);
    await ben.card('Design the schema').click();
    const dialog = benTab.page.getByRole('dialog', { name: 'Edit card' });
    await dialog.waitFor();
    const editing = new BoardPage(anaTab.page).card('Design the schema').locator('.editing');
    await editing.filter({ hasText: 'Ben editing' }).waitFor();

    await dialog.getByLabel('Title').fill('Design the database schema');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await new BoardPage(anaTab.page).cardIn('To do', 'Design the database schema').waitFor();
    await new BoardPage(anaTab.page).card('Design the database schema').locator('.editing').waitFor({ state: 'detached' });
    expect(await serverTask('Design the database schema')).toBeDefined();
  });

  it('shows both versions on a conflicting edit and saves the chosen one', async () => {
    const page = benTab.page;
    await new BoardPage(page).card('Ship it').click();
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    await dialog.getByLabel('Title').fill('Ship it on Friday');
    const task = (await serverTask('Ship it'))!;
    const patched = await api(node.url, 'PATCH', `/orgs/${org.slug}/tasks/${task.id}`, { title: 'Ship it on Monday' }, ana.token);
    expect(patched.status).toBe(200);
    await dialog.getByText('A teammate changed this card since you opened it.').waitFor();

    await dialog.getByRole('button', { name: 'Save' }).click();
    const conflict = dialog.locator('.conflict');
    await conflict.waitFor();
    expect(await conflict.locator('tr[data-field="title"] .theirs').innerText()).toBe('Ship it on Monday');
    expect(await conflict.locator('tr[data-field="title"] .mine').innerText()).toBe('Ship it on Friday');

    await conflict.getByRole('button', { name: 'Save mine' }).click();
    await dialog.waitFor({ state: 'detached' });
    await new BoardPage(anaTab.page).cardIn('In progress', 'Ship it on Friday').waitFor();
    expect((await serverTask('Ship it on Friday'))?.version).toBe(task.version + 2);
  });

  it('writes a screenshot of the board', async () => {
    await anaTab.page.getByRole('button', { name: 'Cancel' }).click(); // the "add a card" form
    await anaTab.page.locator('.editing').waitFor({ state: 'detached' });
    await mkdir(path.dirname(SCREENSHOT), { recursive: true });
    await anaTab.page.screenshot({ path: SCREENSHOT });
  });
});

describe('a move the server refuses', () => {
  it('is shown at once, then rolled back with a message', async () => {
    // Dee's page names a neighbour that is not in the target column, as a page would whose board
    // went stale: the server answers VALIDATION_FAILED.
    const tab = await signedInPage(browser, dee.token);
    tabs.push(tab);
    const moves = new StaleMoves();
    await tab.context.routeWebSocket(/\/socket\.io\//, (ws) => moves.route(ws));
    await tab.page.goto(`${node.url}${boardPath()}`);
    const board = new BoardPage(tab.page);
    await board.waitLive();
    await board.cardIn('Done', 'Kick-off meeting').waitFor();

    await board.moveWithKeyboard('Kick-off meeting', 'ArrowLeft', 'In progress');
    await moves.held; // the server has not seen the move yet, and the board shows it moved already
    await board.cardIn('In progress', 'Kick-off meeting').waitFor();
    moves.release();
    await tab.page
      .getByRole('alert')
      .filter({ hasText: /Move of “Kick-off meeting” refused/ })
      .waitFor();
    await board.cardIn('Done', 'Kick-off meeting').waitFor();
    expect((await serverTask('Kick-off meeting'))?.columnId).toBe(column('Done').id);
    await new BoardPage(anaTab.page).cardIn('Done', 'Kick-off meeting').waitFor();
  });
});

describe('a card opened with the keyboard', () => {
  it('opens on Enter and stays open, with the focus in it; Escape closes it and gives the focus back', async () => {
    const { path } = await newBoard('Keys', ['Press Enter here']);
    const { page } = await open(ana, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Press Enter here').focus();
    await page.keyboard.press('Enter'); // keydown, keypress, keyup: all of it, before the dialog is looked at
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.closest('dialog')?.open)).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.innerText)).toContain('Press Enter here');
  });
});

describe('a change refused after its dialog was closed', () => {
  it('is told in a notice that names the card and why, for an edit and for a delete', async () => {
    const { path, tasks } = await newBoard('Offline', ['Alpha', 'Bravo']);
    const [alpha, bravo] = tasks as [TaskJson, TaskJson];
    // Ben's edits reach the server only when the test says: as if he were offline till then.
    const tab = await signedInPage(browser, ben.token);
    tabs.push(tab);
    const offline = new HeldFrames(['task:update', 'task:delete']);
    await tab.context.routeWebSocket(/\/socket\.io\//, (ws) => offline.route(ws));
    const { page } = tab;
    await page.goto(`${node.url}${path}`);
    const board = new BoardPage(page);
    await board.waitLive();

    await board.card('Alpha').click();
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    await dialog.getByLabel('Title').fill('Alpha by Ben');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await offline.held; // the save waits for an answer; Ben gives up waiting
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    await board.card('Bravo').click();
    await dialog.getByRole('button', { name: 'Delete card' }).click();
    await dialog.getByRole('button', { name: 'Really delete' }).click();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });

    // Meanwhile Ana changes both cards; then Ben's changes arrive, on the versions he had.
    await patchTask(alpha, { title: 'Alpha by Ana' });
    await patchTask(bravo, { priority: 4 });
    offline.release();
    const alerts = page.getByRole('alert');
    await alerts.filter({ hasText: 'Your changes to “Alpha” were not saved: a teammate changed it meanwhile.' }).waitFor();
    await alerts.filter({ hasText: '“Bravo” was not deleted: a teammate changed it meanwhile.' }).waitFor();
    await board.card('Alpha by Ana').waitFor();
    await board.card('Bravo').waitFor();
    expect(await page.getByRole('dialog').count()).toBe(0); // no dialog came back
    expect((await serverBoard(alpha.projectId)).tasks.map((task) => task.title).sort()).toEqual(['Alpha by Ana', 'Bravo']);
  });
});

/** A board's column names in the server's order (positions compare as plain bytes). */
async function serverColumnNames(projectId: string): Promise<string[]> {
  const { columns: onServer } = await serverBoard(projectId);
  return onServer.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0)).map((c) => c.name);
}

/** The column names a page shows, left to right. */
const shownColumnNames = (page: Page) => page.locator('section.column h2').allInnerTexts();

describe('managing columns', () => {
  it('renames a column from its menu (Escape cancels, an empty name is refused), and the teammate sees the new name', async () => {
    const { path, project: renamed } = await newBoard('Rename', ['Alpha']);
    const { page } = await open(ana, path);
    const teammate = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await new BoardPage(teammate.page).card('Alpha').waitFor();

    const actions = page.getByRole('button', { name: 'Column actions for To do' });
    await actions.click();
    await page.getByRole('menuitem', { name: 'Rename' }).click();
    const input = page.getByLabel('New name for To do');
    await input.fill('Typo');
    await input.press('Escape');
    await input.waitFor({ state: 'detached' });
    expect(await shownColumnNames(page)).toEqual(['To do', 'In progress', 'Done']);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Column actions for To do');

    // With the keyboard this time: Enter opens the menu on its first item, Rename.
    await page.keyboard.press('Enter');
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Rename');
    await page.keyboard.press('Enter');
    await input.fill('   ');
    await input.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'A column needs a name.' }).waitFor();
    expect(await input.getAttribute('aria-invalid')).toBe('true');
    await input.fill('Backlog');
    await input.press('Enter');
    await board.column('Backlog').waitFor();
    await new BoardPage(teammate.page).cardIn('Backlog', 'Alpha').waitFor();
    await teammate.page.getByRole('button', { name: 'Column actions for Backlog' }).waitFor();
    await expect.poll(() => serverColumnNames(renamed.id)).toEqual(['Backlog', 'In progress', 'Done']);
  });

  it('marks a column as done and unmarks it', async () => {
    const { path, project: marked } = await newBoard('Done marks', ['Alpha']);
    const { page } = await open(ana, path);
    const teammate = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();
    const isDone = async (name: string) => (await serverBoard(marked.id)).columns.find((c) => c.name === name)?.isDone;

    await page.getByRole('button', { name: 'Column actions for In progress' }).click();
    await page.getByRole('menuitem', { name: 'Mark as done' }).click();
    await expect.poll(() => isDone('In progress')).toBe(true);
    await new BoardPage(teammate.page).column('In progress').and(teammate.page.locator('.column-done')).waitFor();

    await page.getByRole('button', { name: 'Column actions for In progress' }).click();
    await page.getByRole('menuitem', { name: 'Unmark as done' }).click();
    await expect.poll(() => isDone('In progress')).toBe(false);
    await board.column('In progress').and(page.locator('.column:not(.column-done)')).waitFor();
    expect(await isDone('Done')).toBe(true); // the others as they were
  });

  it("moves a column right with the keyboard, which changes the server's order", async () => {
    const { path, project: moved } = await newBoard('Column moves', ['Alpha']);
    const { page } = await open(ana, path);
    const teammate = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();

    await page.getByRole('button', { name: 'Column actions for To do' }).focus();
    await page.keyboard.press('Enter');
    expect(await page.getByRole('menuitem', { name: 'Move left' }).isDisabled()).toBe(true); // the first column
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent)).toBe('Rename');
    await page.keyboard.press('ArrowDown'); // Mark as done
    await page.keyboard.press('ArrowDown'); // Move right (Move left is skipped)
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Move right');
    await page.keyboard.press('Enter');
    await expect.poll(() => serverColumnNames(moved.id)).toEqual(['In progress', 'To do', 'Done']);
    await expect.poll(() => shownColumnNames(page)).toEqual(['In progress', 'To do', 'Done']);
    await expect.poll(() => shownColumnNames(teammate.page)).toEqual(['In progress', 'To do', 'Done']);
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Column actions for To do');

    await page.getByRole('button', { name: 'Column actions for Done' }).click();
    expect(await page.getByRole('menuitem', { name: 'Move right' }).isDisabled()).toBe(true); // the last column
    await page.getByRole('menuitem', { name: 'Move left' }).click();
    await expect.poll(() => serverColumnNames(moved.id)).toEqual(['In progress', 'Done', 'To do']);
    // Cards are still dragged as before.
    const doneId = (await serverBoard(moved.id)).columns.find((c) => c.name === 'Done')!.id;
    await board.moveWithKeyboard('Alpha', 'ArrowLeft', 'Done');
    await expect.poll(async () => (await serverBoard(moved.id)).tasks[0]?.columnId).toBe(doneId);
  });

  it('deletes a column holding cards into the column chosen for them, and an empty one after a confirmation', async () => {
    const made = await newBoard('Column deletes', ['Alpha', 'Bravo']);
    await createTask('Charlie', 'Done', {}, made);
    const { page } = await open(ana, made.path);
    const teammate = await open(ben, made.path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.cardIn('Done', 'Charlie').waitFor();
    const id = (name: string) => made.columns.find((c) => c.name === name)!.id;

    await page.getByRole('button', { name: 'Column actions for To do' }).click();
    await page.getByRole('menuitem', { name: 'Delete column…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete column “To do”?' });
    const target = dialog.getByLabel('Its 2 cards go to');
    expect(await target.inputValue()).toBe(id('In progress')); // its neighbour
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await serverColumnNames(made.project.id)).toEqual(['To do', 'In progress', 'Done']);

    await page.getByRole('button', { name: 'Column actions for To do' }).click();
    await page.getByRole('menuitem', { name: 'Delete column…' }).click();
    await target.selectOption({ label: 'Done' });
    await dialog.getByRole('button', { name: 'Delete column' }).click();
    await expect.poll(() => serverColumnNames(made.project.id)).toEqual(['In progress', 'Done']);
    expect(await serverTitles(made.project.id, id('Done'))).toEqual(['Charlie', 'Alpha', 'Bravo']);
    for (const tab of [page, teammate.page]) {
      await new BoardPage(tab).cardIn('Done', 'Bravo').waitFor();
      await new BoardPage(tab).column('To do').waitFor({ state: 'detached' });
    }

    await page.getByRole('button', { name: 'Column actions for In progress' }).click();
    await page.getByRole('menuitem', { name: 'Delete column…' }).click();
    const empty = page.getByRole('dialog', { name: 'Delete column “In progress”?' });
    await empty.getByText('It holds no cards.').waitFor();
    await empty.getByRole('button', { name: 'Delete column' }).click();
    await expect.poll(() => serverColumnNames(made.project.id)).toEqual(['Done']);
    await new BoardPage(teammate.page).column('In progress').waitFor({ state: 'detached' });
  });

  it('tells in a notice a rename refused because a teammate deleted the column meanwhile', async () => {
    const made = await newBoard('Column refusals', []);
    const tab = await signedInPage(browser, ben.token);
    tabs.push(tab);
    const offline = new HeldFrames(['column:update']);
    await tab.context.routeWebSocket(/\/socket\.io\//, (ws) => offline.route(ws));
    const { page } = tab;
    await page.goto(`${node.url}${made.path}`);
    const board = new BoardPage(page);
    await board.waitLive();

    await page.getByRole('button', { name: 'Column actions for In progress' }).click();
    await page.getByRole('menuitem', { name: 'Rename' }).click();
    await page.getByLabel('New name for In progress').fill('Doing');
    await page.getByLabel('New name for In progress').press('Enter');
    await offline.held;
    const socket = await connect(node.url, { token: ana.token });
    await ok(socket, 'column:delete', { columnId: made.columns.find((c) => c.name === 'In progress')!.id });
    offline.release();
    await page.getByRole('alert').filter({ hasText: 'Column “In progress” was not renamed: it was deleted meanwhile.' }).waitFor();
    await expect.poll(() => shownColumnNames(page)).toEqual(['To do', 'Done']);
  });
});

describe('a membership changed while the page is open', () => {
  it("makes a member's open board read-only when lowered to viewer, and editable again when raised back", async () => {
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
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    // Leaving the board is said on the same socket after anything the dialog said.
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Projects' }).click();
    await expect.poll(() => sent.some((frame) => frame.includes('"board:leave"'))).toBe(true);
    expect(sent.filter((frame) => frame.includes('"presence:update"'))).toEqual([]);
  });
});

describe('members and invitations', () => {
  it('lets an admin invite someone, see the invitation, and change a role', async () => {
    const page = anaTab.page;
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Members' }).click();
    await page.getByLabel('Role of Dee').waitFor();
    const newcomer = `newcomer-${Date.now()}@example.test`;
    const form = page.getByRole('form', { name: 'Invite' });
    await form.getByLabel('Email').fill(newcomer);
    await form.getByRole('button', { name: 'Invite' }).click();
    await page.getByRole('list', { name: 'Pending invitations' }).getByText(newcomer).waitFor();

    await page.getByLabel('Role of Dee').selectOption('viewer');
    await expect
      .poll(
        async () =>
          (await api(node.url, 'GET', `/orgs/${org.slug}/members`, undefined, ana.token)).body.find((m: any) => m.user.id === dee.user.id)
            ?.role,
      )
      .toBe('viewer');
    const invites = await api(node.url, 'GET', `/orgs/${org.slug}/invites`, undefined, ana.token);
    expect(invites.body.map((invite: { email: string }) => invite.email)).toContain(newcomer);
    await page.goBack();
    await new BoardPage(page).waitLive();
  });
});

describe('organizations and projects', () => {
  it('creates an organization and a project from the switcher, and opens its empty board', async () => {
    const tab = await open(cy, '/');
    const page = tab.page;
    await page.getByRole('combobox', { name: 'Organization' }).selectOption({ label: '+ New organization…' });
    await page.getByLabel('Name').fill('Cy Labs');
    await page.getByRole('button', { name: 'Create organization' }).click();
    await page.getByRole('heading', { name: 'Cy Labs' }).waitFor();
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
    for (const title of ['Launch', 'Write the spec', 'Ship it on Friday', 'Kick-off meeting']) expect(text).not.toContain(title);
    expect(await page.locator('li.card').count()).toBe(0);
  });
});

describe('a short-lived token', () => {
  it('is refreshed before it ends; the board reconnects with the new one and stays live', async () => {
    const shortLived = await startServer({ DATABASE_URL: db.url, TOKEN_TTL: '4s' });
    const login = await api(shortLived.url, 'POST', '/auth/login', { email: ben.email, password: 'correct horse battery' });
    expect(login.status).toBe(200);
    const tab = await signedInPage(browser, login.body.token);
    tabs.push(tab);
    try {
      await tab.page.goto(`${shortLived.url}${boardPath()}`);
      const board = new BoardPage(tab.page);
      await board.waitLive();
      await board.recordStates();
      const tokens = new Set<string>([login.body.token]);
      // Twice refreshed: by then the first token has expired, and so has the socket it opened.
      await expect
        .poll(async () => tokens.add((await tab.page.evaluate(() => localStorage.getItem('taskflow.token'))) ?? '').size, {
          timeout: 15_000,
        })
        .toBeGreaterThanOrEqual(3);
      // The server ended the socket of the expired token; the page came back on a fresh one.
      await expect.poll(() => board.recordedStates(), { timeout: 10_000 }).toEqual(expect.arrayContaining(['reconnecting', 'live']));
      await createTask('Renew the domain', 'To do');
      await board.cardIn('To do', 'Renew the domain').waitFor();
      await board.waitLive();
      expect(await tab.page.getByRole('alert').count()).toBe(0);
      expect(await tab.page.getByRole('button', { name: 'Sign in' }).count()).toBe(0);
    } finally {
      await tab.context.close();
      await shortLived.close();
    }
  });
});

describe('a refresh that fails for now', () => {
  it('is tried again soon, so an idle board stays signed in past its token', async () => {
    const shortLived = await startServer({ DATABASE_URL: db.url, TOKEN_TTL: '6s' });
    const login = await api(shortLived.url, 'POST', '/auth/login', { email: ben.email, password: 'correct horse battery' });
    const tab = await signedInPage(browser, login.body.token);
    tabs.push(tab);
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
      const renewed = async () => ![null, login.body.token].includes(await stored());
      await expect.poll(renewed, { timeout: 15_000 }).toBe(true);
      expect(refreshes).toBeGreaterThanOrEqual(2);
      // The first token ends: the server closes its socket, and the page comes back on the new one.
      await expect.poll(() => board.recordedStates(), { timeout: 15_000 }).toEqual(expect.arrayContaining(['reconnecting', 'live']));
      await board.waitLive();
      expect(await tab.page.getByRole('button', { name: 'Sign in' }).count()).toBe(0);
    } finally {
      await tab.context.close();
      await shortLived.close();
    }
  });
});

describe('on a phone', () => {
  it('scrolls the columns sideways inside the board, not the page', async () => {
    const tab = await open(ana, boardPath(), { width: 390, height: 844 });
    const board = new BoardPage(tab.page);
    await board.cardIn('In progress', 'Write the spec').waitFor();
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

/** Resolves once the page's main thread has no work left (its idle callback): React has committed what it had to. */
function idle(page: Page): Promise<void> {
  return page.evaluate(() => new Promise<void>((resolve) => requestIdleCallback(() => resolve())));
}

describe('a teammate changing one card of a board', () => {
  it('re-renders that card only, not the others', async () => {
    const titles = ['One', 'Two', 'Three', 'Four', 'Five', 'Six'];
    const { path, tasks } = await newBoard('Renders', titles);
    const tab = await signedInPage(browser, ben.token);
    tabs.push(tab);
    const { page } = tab;
    await countCardRenders(page);
    // The org's lists come after the board, and re-render every card once: the baseline follows them.
    const lists = ['/members', '/labels'].map((end) => page.waitForResponse((answer) => answer.url().endsWith(end)));
    await page.goto(`${node.url}${path}`);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Six').waitFor();
    await Promise.all(lists);
    // The counter sees the cards: each rendered at least once as the board opened.
    await expect.poll(async () => Object.keys(await takeCardRenders(page)).length).toBe(titles.length);
    await idle(page);
    await takeCardRenders(page);
    await patchTask(tasks[2]!, { title: 'Three, renamed' });
    await board.card('Three, renamed').waitFor();
    await idle(page);
    expect(await takeCardRenders(page)).toEqual({ [tasks[2]!.id]: expect.any(Number) });
    // Someone opening another card's dialog re-renders that card only, too.
    const other = await open(ana, path);
    await new BoardPage(other.page).card('Five').click();
    await board.card('Five').locator('[data-editing]').waitFor();
    await idle(page);
    expect(Object.keys(await takeCardRenders(page))).toEqual([tasks[4]!.id]);
  });
});

describe('after a new build', () => {
  it('has browsers ask for the page again each time, and keep its hashed files for good', async () => {
    const page = await fetch(`${node.url}/`, { headers: { accept: 'text/html' } });
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const deepLink = await fetch(`${node.url}${boardPath()}`, { headers: { accept: 'text/html' } });
    expect(deepLink.headers.get('cache-control')).toBe('no-cache');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await page.text())![1]!;
    const asset = await fetch(`${node.url}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
  });
});

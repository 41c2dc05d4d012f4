import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page, WebSocketRoute } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { byPosition } from '../shared/positions.js';
import type { TaskJson } from '../shared/wire.js';
import {
  ana,
  ben,
  boardPath,
  browser,
  column,
  createTask,
  dee,
  newBoard,
  node,
  open,
  org,
  patchTask,
  serverBoard,
  serverTask,
  serverTitles,
  tabs,
  useAcmeBoard,
} from './e2e/acme-board.js';
import { BoardPage } from './e2e/board-page.js';
import { type SignedInPage, signedInPage } from './e2e/browser.js';
import { countCardRenders, takeCardRenders } from './e2e/render-counter.js';
import { HeldFrames } from './e2e/socket-frames.js';
import { StaleMoves } from './e2e/stale-moves.js';
import { api } from './support/api.js';

// The live board in the browser: two teammates on one board, moves, edits and their refusals, renders and the build's caching.
useAcmeBoard();

const SCREENSHOT = fileURLToPath(new URL('./e2e/screenshots/board.png', import.meta.url));

// Ana's and Ben's pages on Launch, opened by the first test and used by the next ones.
let anaTab: SignedInPage;
let benTab: SignedInPage;

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
    // A screen reader hears the column's count as cards, not as a bare number.
    const todo = new BoardPage(page).column('To do');
    const cards = await todo.locator('li.card').count();
    expect(await todo.locator('.column-header').ariaSnapshot()).toContain(`text: ${cards} card${cards === 1 ? '' : 's'}`);
  });

  it('asks for a title where the card dialog is saved with spaces for one, and sends nothing', async () => {
    const ben = new BoardPage(benTab.page);
    await ben.card('Design the schema').click();
    const dialog = benTab.page.getByRole('dialog', { name: 'Edit card' });
    for (const nothing of ['\u200b\u00ad ', '    ']) {
      // Spaces, and characters that show nothing (a zero-width space, a soft hyphen).
      await dialog.getByLabel('Title').fill(nothing);
      await dialog.getByRole('button', { name: 'Save' }).click();
      await dialog.getByRole('alert').filter({ hasText: 'A card needs a title.' }).waitFor();
    }
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await serverTask('Design the schema')).toBeDefined();
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
    await dialog.getByText('This card was changed since you opened it (by a teammate, or by you elsewhere).').waitFor();

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

  it('refuses to delete a card a teammate changed since its dialog opened, and shows the card as it stands', async () => {
    const page = benTab.page;
    await new BoardPage(page).card('Ship it on Friday').click();
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    await dialog.getByLabel('Title').fill('Ship it next week'); // an edit: the form stays on the version it opened
    const task = (await serverTask('Ship it on Friday'))!;
    const patched = await api(
      node.url,
      'PATCH',
      `/orgs/${org.slug}/tasks/${task.id}`,
      { description: 'Do not delete: the launch' },
      ana.token,
    );
    expect(patched.status).toBe(200);
    await dialog.getByText('This card was changed since you opened it (by a teammate, or by you elsewhere).').waitFor();

    await dialog.getByRole('button', { name: 'Delete card' }).click();
    await dialog.getByRole('button', { name: 'Really delete' }).click();
    await dialog.getByRole('alert').filter({ hasText: 'here it is as it stands now' }).waitFor();
    expect(await dialog.getByLabel('Description').inputValue()).toBe('Do not delete: the launch');
    expect((await serverTask('Ship it on Friday'))?.description).toBe('Do not delete: the launch');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it("offers in a card's dialog the org's labels as they are when it opens: none deleted since the board was loaded", async () => {
    const page = benTab.page;
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    const option = dialog.locator('.label-option', { hasText: 'short-lived' });
    const made = await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'short-lived', color: '#0e8a16' }, ana.token);
    expect(made.status).toBe(201);
    await new BoardPage(page).card('Design the database schema').click();
    await option.waitFor();
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });

    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/labels/${made.body.id}`, undefined, ana.token)).status).toBe(204);
    await new BoardPage(page).card('Design the database schema').click();
    await option.waitFor({ state: 'detached' });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
  });

  it("shows the server's board, every card in its column, and writes a screenshot of it", async () => {
    await anaTab.page.getByRole('button', { name: 'Cancel' }).click(); // the "add a card" form
    // The focus goes back to the button that opened it, not to the page's start.
    await expect.poll(() => anaTab.page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Add a card to To do');
    await anaTab.page.locator('.editing').waitFor({ state: 'detached' });
    const { columns, tasks } = await serverBoard();
    const board = new BoardPage(anaTab.page);
    for (const { id, name } of [...columns].sort(byPosition)) {
      const titles = tasks
        .filter((task) => task.columnId === id)
        .sort(byPosition)
        .map((task) => task.title);
      await expect.poll(() => board.column(name).locator('li.card .card-title').allTextContents()).toEqual(titles);
    }
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

  it('of a card a teammate deleted meanwhile says so by its title, and not that the card is back', async () => {
    const { path, project: deleting } = await newBoard('Deleting', ['Gone soon', 'Stays']);
    const tab = await signedInPage(browser, dee.token);
    tabs.push(tab);
    const moves = new HeldFrames(['task:move']);
    await tab.context.routeWebSocket(/\/socket\.io\//, (ws) => moves.route(ws));
    await tab.page.goto(`${node.url}${path}`);
    const board = new BoardPage(tab.page);
    await board.waitLive();
    await board.cardIn('To do', 'Gone soon').waitFor();

    await board.moveWithKeyboard('Gone soon', 'ArrowRight', 'In progress');
    await moves.held; // the server has not seen the move yet
    const gone = (await serverBoard(deleting.id)).tasks.find((task) => task.title === 'Gone soon')!;
    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/tasks/${gone.id}`, undefined, ana.token)).status).toBe(204);
    await board.card('Gone soon').waitFor({ state: 'detached' });
    moves.release();
    const notice = tab.page.getByRole('alert').filter({ hasText: 'Move of “Gone soon” refused' });
    await notice.waitFor();
    expect(await notice.textContent()).toContain('Move of “Gone soon” refused: it was deleted meanwhile.');
    expect(await notice.textContent()).not.toContain('back where it was');
  });
});

describe("the org's members and labels, when the board's first read of them fails", () => {
  it('are read again, and the cards then show their assignee and labels', async () => {
    const label = await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'blip', color: '#0e8a16' }, ana.token);
    expect(label.status).toBe(201);
    const made = await newBoard('Blip', []);
    await createTask('Assigned and labelled', 'To do', { assigneeId: ben.user.id, labelIds: [label.body.id] }, made);
    const tab = await signedInPage(browser, ana.token);
    tabs.push(tab);
    const failed = new Set<string>();
    await tab.page.route(/\/api\/v1\/orgs\/[^/]+\/(members|labels)$/, (route) => {
      const list = new URL(route.request().url()).pathname.split('/').at(-1)!;
      if (failed.has(list)) return route.fallback();
      failed.add(list);
      return route.abort('internetdisconnected'); // a network blip as the board opens
    });
    await tab.page.goto(`${node.url}${made.path}`);

    await tab.page.locator(`[aria-label*="assigned to ${ben.user.name}"][aria-label*="label blip"]`).waitFor();
    expect([...failed].sort()).toEqual(['labels', 'members']);
  });
});

/**
 * Presses `key` in a keyboard drag until the drag hears it, and answers what it then said. The
 * sensor listens for arrows only a moment after the drag starts, so a press at machine speed on a
 * busy machine can come before it does and go unheard (nothing is said, nothing moves): it is
 * pressed again, a few times at most. A press that was heard is never pressed again.
 */
async function firstHeardPress(board: BoardPage, key: string): Promise<string> {
  const before = await board.announcement().innerText();
  for (let attempt = 1; attempt <= 5; attempt++) {
    await board.page.keyboard.press(key);
    const heard = await expect
      .poll(() => board.announcement().innerText(), { timeout: 1500 })
      .not.toBe(before)
      .then(
        () => true,
        () => false,
      );
    if (heard) return board.announcement().innerText();
  }
  throw new Error(`no press of ${key} was heard: ${before}`);
}

describe('a card moved with the arrow keys', () => {
  it('goes to the next column at the first press, left as right, from anywhere in its column', async () => {
    const made = await newBoard('Sideways', []);
    for (const title of ['One', 'Two', 'Three', 'Four', 'Five']) await createTask(title, 'In progress', {}, made);
    const { page } = await open(ana, made.path);
    const board = new BoardPage(page);
    await board.waitLive();
    const said = (text: string | RegExp) => board.announcement().filter({ hasText: text }).waitFor();

    for (const [title, key, to] of [
      ['Five', 'ArrowLeft', 'To do'], // the lowest card of the middle column
      ['One', 'ArrowLeft', 'To do'], // its top card
      ['Four', 'ArrowRight', 'Done'],
    ] as const) {
      await board.card(title).focus();
      await page.keyboard.press('Space');
      await said(`Picked up “${title}”`);
      await page.locator('.card-overlay').waitFor();
      // The first press the drag hears takes the card to the next column, not one place along its own.
      expect(await firstHeardPress(board, key)).toMatch(new RegExp(`(in|over) column ${to}\\.`));
      await page.keyboard.press('Space');
      await said(`“${title}” was dropped on`);
      await page.locator('.card-overlay').waitFor({ state: 'detached' });
      await board.cardIn(to, title).waitFor();
    }
    expect(await serverTitles(made.project.id, made.columns.find((c) => c.name === 'In progress')!.id)).toEqual(['Two', 'Three']);
  });
});

describe('work not yet sent or saved', () => {
  it('is said to be waiting while the connection is away, and leaving the page asks first until it is sent', async () => {
    const made = await newBoard('Offline', []);
    const tab = await signedInPage(browser, ana.token);
    tabs.push(tab);
    // The connection, cut and refused while `away` (a network gone), then let through again.
    let away = false;
    const connections: WebSocketRoute[] = [];
    await tab.context.routeWebSocket(/\/socket\.io\//, (ws) => {
      if (away) return void ws.close();
      ws.connectToServer();
      connections.push(ws);
    });
    const { page } = tab;
    await page.goto(`${node.url}${made.path}`);
    const board = new BoardPage(page);
    await board.waitLive();
    await page.getByRole('button', { name: 'Add a card to To do' }).waitFor(); // the board joined and shown

    away = true;
    for (const ws of connections.splice(0)) await ws.close();
    await expect.poll(() => board.state()).not.toBe('live');
    await page.getByRole('button', { name: 'Add a card to To do' }).click();
    await page.getByLabel('New card in To do').fill('Written on the train');
    await page.getByLabel('New card in To do').press('Enter');
    const waiting = page.getByRole('status').filter({ hasText: '1 change is waiting for the connection' });
    await waiting.waitFor();
    // The card shows at the foot of its column as on its way (nothing else would show it till then).
    const onItsWay = board.column('To do').getByRole('listitem', { name: 'Written on the train, being added' });
    await onItsWay.waitFor();
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => void dialog.dismiss().then(() => resolve(dialog.type()))),
    );
    await page.close({ runBeforeUnload: true });
    expect(await asked).toBe('beforeunload'); // dismissed: the page stays
    // On another page of the app the change still waits, and leaving still asks.
    await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: 'Projects' }).click();
    await page.getByRole('list', { name: 'Projects' }).waitFor();
    const askedThere = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => void dialog.dismiss().then(() => resolve(dialog.type()))),
    );
    await page.close({ runBeforeUnload: true });
    expect(await askedThere).toBe('beforeunload');
    await page.goBack(); // to the board, which comes back once the connection does

    away = false;
    // The client's next try comes within its longest backoff (5 s) and the spread after a drop (2 s).
    await page.locator('.connection[data-state="live"]').waitFor({ timeout: 25_000 });
    await board.cardIn('To do', 'Written on the train').waitFor();
    await waiting.waitFor({ state: 'detached' });
    await onItsWay.waitFor({ state: 'detached' });
    await expect(board.column('To do').getByText('Written on the train', { exact: true }).count()).resolves.toBe(1);
    expect((await serverBoard(made.project.id)).tasks.map((task) => task.title)).toEqual(['Written on the train']);
    const questions: string[] = [];
    page.on('dialog', (dialog) => void questions.push(dialog.type()));
    const closed = new Promise((resolve) => page.once('close', resolve));
    await page.close({ runBeforeUnload: true }); // nothing waits now: no question, it closes
    await closed;
    expect(questions).toEqual([]);
  });

  it('in a card dialog: leaving the page asks first', async () => {
    const { path } = await newBoard('Unsaved', ['Half done']);
    const { page } = await open(ana, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Half done').click();
    await page.getByRole('dialog', { name: 'Edit card' }).getByLabel('Description').fill('more to say');
    const asked = new Promise<string>((resolve) =>
      page.once('dialog', (dialog) => void dialog.dismiss().then(() => resolve(dialog.type()))),
    );
    await page.close({ runBeforeUnload: true });
    expect(await asked).toBe('beforeunload');
    expect(await page.getByRole('dialog', { name: 'Edit card' }).getByLabel('Description').inputValue()).toBe('more to say');
  });
});

describe('a card opened with the keyboard', () => {
  it('opens on Enter and stays open, with the focus in its title; Escape closes it and gives the focus back', async () => {
    const { path } = await newBoard('Keys', ['Press Enter here']);
    const { page } = await open(ana, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Press Enter here').focus();
    await page.keyboard.press('Enter'); // keydown, keypress, keyup: all of it, before the dialog is looked at
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.closest('dialog')?.open)).toBe(true);
    // Typing goes to the title (the browser's own pick was "Copy link", which each Space pressed).
    await expect.poll(() => page.evaluate(() => document.activeElement?.closest('label')?.textContent)).toMatch(/^Title/);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => page.evaluate(() => (document.activeElement as HTMLElement | null)?.innerText)).toContain('Press Enter here');
  });
});

describe('a card dialog with unsaved changes', () => {
  it('asks before Escape discards them, keeps them while the user goes on, and discards them on a second Escape', async () => {
    const { path, tasks } = await newBoard('Drafts', ['Keep my words']);
    const { page } = await open(ana, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Keep my words').click();
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    const description = dialog.getByLabel('Description');
    const asking = dialog.getByRole('alert').filter({ hasText: 'Your changes are not saved. Press Escape again to discard them.' });
    await description.fill('half a thought');
    await page.keyboard.press('Escape');
    await asking.waitFor();
    expect(await description.inputValue()).toBe('half a thought');

    await description.press('End');
    await page.keyboard.type(', and the rest'); // going on asks again at the next Escape
    await asking.waitFor({ state: 'detached' });
    await page.keyboard.press('Escape');
    await asking.waitFor();
    expect(await description.inputValue()).toBe('half a thought, and the rest');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect((await serverBoard(tasks[0]!.projectId)).tasks[0]?.description).toBeNull();
  });

  it("asks before the browser's Back drops them: kept, the dialog stays as it was; let go, the page goes back", async () => {
    await newBoard('Backwards', ['Go back']);
    const { page } = await open(ana, `/orgs/${org.slug}`);
    await page.getByRole('link', { name: 'Backwards' }).click();
    const board = new BoardPage(page);
    await board.waitLive();
    const boardPath = new URL(page.url()).pathname;
    await page.getByRole('link', { name: 'Skip to content' }).focus(); // shown once focused
    await page.keyboard.press('Enter'); // an entry of the page's own, `#main`
    await expect.poll(() => new URL(page.url()).hash).toBe('#main');
    await board.card('Go back').click();
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    await dialog.getByLabel('Description').fill('words of my own');
    const questions: string[] = [];
    page.on('dialog', (question) => {
      questions.push(question.message());
      void (questions.length === 1 ? question.dismiss() : question.accept());
    });

    await page.goBack(); // within the page: nothing to ask
    await page.goBack();
    await expect.poll(() => questions).toEqual(['Leave this page? Your changes to the card are not saved.']);
    // Put back once the question is answered, which the page learns a moment after it was asked.
    await expect.poll(() => new URL(page.url()).pathname).toBe(boardPath);
    expect(await dialog.getByLabel('Description').inputValue()).toBe('words of my own');

    await page.goBack(); // answered yes
    await page.getByRole('link', { name: 'Backwards' }).waitFor();
    expect(await dialog.count()).toBe(0);
    expect(questions).toHaveLength(2);
    // With nothing typed, Back asks nothing.
    await page.goForward();
    await board.waitLive();
    await page.goBack();
    await page.getByRole('link', { name: 'Backwards' }).waitFor();
    expect(questions).toHaveLength(2);
  });
});

describe('a card a teammate deletes while its dialog has unsaved changes', () => {
  it('keeps what the user typed on screen, to copy, and says why it cannot be saved', async () => {
    const { path, tasks } = await newBoard('Lost words', ['Write it up']);
    const { page } = await open(ana, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Write it up').click();
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    await dialog.getByLabel('Description').fill('two paragraphs of careful words');
    const deleted = await api(node.url, 'DELETE', `/orgs/${org.slug}/tasks/${tasks[0]!.id}`, undefined, ben.token);
    expect(deleted.status).toBe(204);

    const gone = page.getByRole('dialog', { name: 'Card' });
    await gone.getByRole('alert').filter({ hasText: 'your changes could not be saved. What you typed is below, to copy.' }).waitFor();
    expect(await gone.getByLabel('Description').inputValue()).toBe('two paragraphs of careful words');
    expect(await gone.getByLabel('Title').inputValue()).toBe('Write it up');
    await gone.getByRole('button', { name: 'Close' }).click();
    await gone.waitFor({ state: 'detached' });
  });
});

describe('a card deleted from its dialog', () => {
  it("gives the focus to its column's next card, not to the page's start", async () => {
    const { path, tasks } = await newBoard('Tidy', ['Keep this', 'Drop this']);
    const { page } = await open(ana, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board.card('Drop this').focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    await dialog.getByRole('button', { name: 'Delete card' }).click();
    await dialog.getByRole('button', { name: 'Really delete' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('data-task-id'))).toBe(tasks[0]!.id);
  });
});

describe("teammates' changes", () => {
  it("are said to a screen reader in a polite live region, by who made them, and the user's own are not", async () => {
    const { path, tasks, columns: spokenColumns } = await newBoard('Spoken', ['Ship it', 'Write it']);
    const { page } = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();
    const said = page.locator('[data-announce="teammates"]');
    expect(await said.getAttribute('role')).toBe('status');
    const bens = await api(node.url, 'PATCH', `/orgs/${org.slug}/tasks/${tasks[1]!.id}`, { title: 'Write it well' }, ben.token);
    expect(bens.status).toBe(200);
    await board.card('Write it well').waitFor(); // his own change, on his board: not said
    const done = spokenColumns.find((c) => c.name === 'Done')!;
    const moved = await api(node.url, 'POST', `/orgs/${org.slug}/tasks/${tasks[0]!.id}/move`, { columnId: done.id }, ana.token);
    expect(moved.status).toBe(200);
    await expect.poll(() => said.innerText()).toBe('Ana moved “Ship it” to “Done”.');
    // A deleted card is named by its title as it last stood (his own rename), though it is gone from the board.
    const deleted = await api(node.url, 'DELETE', `/orgs/${org.slug}/tasks/${tasks[1]!.id}`, undefined, ana.token);
    expect(deleted.status).toBe(204);
    await expect.poll(() => said.innerText()).toBe('Ana deleted “Write it well”.');
  });
});

describe("a card's dates and labels", () => {
  it('say "Overdue" in words, not by colour alone, and keep a label legible whatever its colour', async () => {
    const { path, tasks } = await newBoard('Legible', ['Late card', 'Later card']);
    const yellow = await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: `sunny-${Date.now()}`, color: '#fbca04' }, ana.token);
    const navy = await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: `navy-${Date.now()}`, color: '#1d3b6e' }, ana.token);
    await patchTask(tasks[0]!, { dueDate: '2020-01-02', labelIds: [yellow.body.id, navy.body.id] });
    await patchTask(tasks[1]!, { dueDate: '2999-01-02' });
    const { page } = await open(ana, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await board
      .card('Late card')
      .locator('.due', { hasText: /^Overdue / })
      .waitFor();
    expect(await board.card('Later card').locator('.due').innerText()).toMatch(/^Due /);
    const textColour = (name: string) =>
      board
        .card('Late card')
        .locator('.label-chip', { hasText: name })
        .evaluate((chip) => getComputedStyle(chip).color);
    expect(await textColour(yellow.body.name)).toBe('rgb(17, 17, 17)'); // dark on a light label
    expect(await textColour(navy.body.name)).toBe('rgb(255, 255, 255)');
    // A screen reader hears the title first, then the fields by name, not labels first (the org's
    // labels shown, as above: named only once they are read).
    expect(await board.card('Late card').getAttribute('aria-label')).toMatch(
      /^Late card, overdue: due .*2020, labels (sunny|navy)-\d+, (sunny|navy)-\d+$/,
    );
    expect(await board.card('Later card').getAttribute('aria-label')).toMatch(/^Later card, due .*2999$/);
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

describe('the served files', () => {
  it("carry headers that keep the board out of other pages' frames, its scripts its own, and its address to itself", async () => {
    for (const path of ['/', boardPath(), '/api/v1/me', '/healthz']) {
      const answer = await fetch(`${node.url}${path}`, { headers: { accept: 'text/html' } });
      const policy = answer.headers.get('content-security-policy') ?? '';
      expect({ path, policy }).toEqual({ path, policy: expect.stringContaining("frame-ancestors 'none'") });
      expect(policy).toContain("default-src 'self'");
      expect(policy).toContain("script-src 'self'");
      expect(policy).not.toContain('upgrade-insecure-requests');
      expect(answer.headers.get('x-frame-options')).toBe('DENY');
      expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      expect(answer.headers.get('referrer-policy')).toBe('no-referrer');
    }
  });

  it("answers a range past the end 416 and a failed precondition 412, as the client's fault, and HEAD of a page as GET", async () => {
    const page = await fetch(`${node.url}/`, { headers: { accept: 'text/html' } });
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(await page.text())![1]!;
    const size = (await (await fetch(`${node.url}${script}`)).arrayBuffer()).byteLength;
    const past = await fetch(`${node.url}${script}`, { headers: { range: `bytes=${size + 10}-` } });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${size}`);
    expect(await past.json()).toEqual({ error: { code: 'VALIDATION_FAILED', message: expect.any(String) } });
    const stale = await fetch(`${node.url}${script}`, { headers: { 'if-match': '"not-this-one"' } });
    expect(stale.status).toBe(412);
    const head = await fetch(`${node.url}${boardPath()}`, { method: 'HEAD', headers: { accept: 'text/html' } });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toContain('text/html');
  });
});

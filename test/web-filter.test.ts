import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ana, ben, browser, createTask, newBoard, node, open, org, patchTask, serverTitles, tabs, useAcmeBoard } from './e2e/acme-board.js';
import { signedInPage } from './e2e/browser.js';
import { BoardPage } from './e2e/board-page.js';
import { api } from './support/api.js';

// The board's card filter: words in a card's title, description or label names, and "Only my cards".
useAcmeBoard();

const shownIn = (board: BoardPage, column: string) => board.column(column).locator('li.card .card-title').allInnerTexts();
const status = (page: Page) => page.locator('.card-filter [role="status"]').innerText();

describe('the card filter', () => {
  it('shows the cards holding its words, accents aside, and those of teammates that come since, counting them', async () => {
    const { path, project, columns } = await newBoard('Cafe', ['Café menu', 'Fix the login', 'Write the CAFE sign']);
    const { page } = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await page.getByLabel('Filter cards').fill('cafe');
    await expect.poll(() => shownIn(board, 'To do')).toEqual(['Café menu', 'Write the CAFE sign']);
    expect(await status(page)).toBe('2 of 3 cards shown');

    await createTask('Cafe opening', 'To do', {}, { project, columns }); // a teammate's, that the filter keeps
    await createTask('Order chairs', 'To do', {}, { project, columns }); // and one it does not
    await expect.poll(() => status(page)).toBe('3 of 5 cards shown');
    expect(await shownIn(board, 'To do')).toEqual(['Café menu', 'Write the CAFE sign', 'Cafe opening']);

    await page.getByLabel('Filter cards').fill('cafe sign');
    await expect.poll(() => shownIn(board, 'To do')).toEqual(['Write the CAFE sign']);
    // Descriptions and label names are searched too.
    const [backend] = (await api(node.url, 'GET', `/orgs/${org.slug}/labels`, undefined, ana.token)).body;
    await createTask('Paint the wall', 'To do', { description: 'Ask the café owner first' }, { project, columns });
    await createTask('Set up the server', 'To do', { labelIds: [backend.id] }, { project, columns });
    await page.getByLabel('Filter cards').fill('cafe owner');
    await expect.poll(() => shownIn(board, 'To do')).toEqual(['Paint the wall']);
    await page.getByLabel('Filter cards').fill('BACKEND');
    await expect.poll(() => shownIn(board, 'To do')).toEqual(['Set up the server']);
    await page.getByRole('button', { name: 'Clear filter' }).click();
    await expect
      .poll(() => shownIn(board, 'To do'))
      .toEqual([
        'Café menu',
        'Fix the login',
        'Write the CAFE sign',
        'Cafe opening',
        'Order chairs',
        'Paint the wall',
        'Set up the server',
      ]);
    expect(await status(page)).toBe('');
  });

  it("keeps only the user's own cards, and moves a card among those shown, landing after the shown card above it", async () => {
    const { path, project, columns, tasks } = await newBoard('Mine', ['Mine A', 'Not mine', 'Mine B', 'Mine C']);
    for (const task of [tasks[0]!, tasks[2]!, tasks[3]!]) await patchTask(task, { assigneeId: ben.user.id });
    const { page } = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await page.getByLabel('Only my cards').check();
    await expect.poll(() => shownIn(board, 'To do')).toEqual(['Mine A', 'Mine B', 'Mine C']);

    // Up one place among the shown cards, between "Mine A" and "Mine B": right after "Mine A", above the hidden card.
    await board.card('Mine C').focus();
    await page.keyboard.press('Space');
    await page.locator('.card-overlay').waitFor();
    await page.keyboard.press('ArrowUp');
    await board.announcement().filter({ hasText: 'is over “Mine B” in column To do.' }).waitFor();
    await page.keyboard.press('Space');
    await page.locator('.card-overlay').waitFor({ state: 'detached' });
    await expect.poll(() => serverTitles(project.id, columns[0]!.id)).toEqual(['Mine A', 'Mine C', 'Not mine', 'Mine B']);
    expect(await shownIn(board, 'To do')).toEqual(['Mine A', 'Mine C', 'Mine B']);
    // Words and "Only my cards" together: both must hold.
    await page.getByLabel('Filter cards').fill('mine c');
    await expect.poll(() => shownIn(board, 'To do')).toEqual(['Mine C']);
    await page.getByLabel('Filter cards').fill('');
    await page.getByLabel('Only my cards').uncheck();
    await expect.poll(() => shownIn(board, 'To do')).toEqual(['Mine A', 'Mine C', 'Not mine', 'Mine B']);
  });
});

describe('a card added while the board is filtered', () => {
  it('is said to be added when the filter hides it, and each column counts what it shows of all it holds', async () => {
    const { path } = await newBoard('Filtered adds', ['Write the spec', 'Order chairs']);
    const { page } = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();
    await page.getByLabel('Filter cards').fill('spec');
    await expect.poll(() => shownIn(board, 'To do')).toEqual(['Write the spec']);
    const todoCount = board.column('To do').locator('.column-header .count [aria-hidden="true"]');
    await expect.poll(() => todoCount.innerText()).toBe('1 of 2');
    expect(await board.column('To do').locator('.column-header .count .visually-hidden').innerText()).toBe('1 of 2 cards shown');

    await page.getByRole('button', { name: 'Add a card to To do' }).click();
    const input = page.getByLabel('New card in To do');
    await input.fill('   ');
    await input.press('Enter');
    await board.column('To do').getByRole('alert').filter({ hasText: 'A card needs a title.' }).waitFor();
    await input.fill('Unrelated task');
    await input.press('Enter');
    await page.getByText('“Unrelated task” was added: the filter hides it.').waitFor();
    await expect.poll(() => todoCount.innerText()).toBe('1 of 3');
    expect(await shownIn(board, 'To do')).toEqual(['Write the spec']);
    await input.fill('Another spec');
    await input.press('Enter');
    await expect.poll(() => shownIn(board, 'To do')).toEqual(['Write the spec', 'Another spec']);
    expect(await page.getByText('“Another spec” was added').count()).toBe(0); // shown: nothing to say
  });
});

describe("the board's address", () => {
  const search = (page: Page) => new URL(page.url()).searchParams;

  it('holds the filter and the open card: a reload shows them again, and a teammate opening the link sees the same', async () => {
    const { path, tasks } = await newBoard('Links', ['Alpha one', 'Beta two', 'Alpha three']);
    const { page, context } = await open(ben, path);
    const board = new BoardPage(page);
    await board.waitLive();
    const entries = await page.evaluate(() => history.length);
    await page.getByLabel('Only my cards').check();
    await expect.poll(() => search(page).get('mine')).toBe('1');
    await page.getByLabel('Only my cards').uncheck();
    await page.getByLabel('Filter cards').fill('alpha');
    await expect.poll(() => search(page).get('q')).toBe('alpha');
    expect(search(page).has('mine')).toBe(false);
    await board.card('Alpha three').click();
    const dialog = page.getByRole('dialog', { name: 'Edit card' });
    await expect.poll(() => search(page).get('card')).toBe(tasks[2]!.id);
    // "Copy link" puts that address on the clipboard.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: node.url });
    await dialog.getByRole('button', { name: 'Copy link' }).click();
    await page.getByText('The link to “Alpha three” was copied.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(page.url());

    await page.reload();
    await board.waitLive();
    await expect(dialog.getByLabel('Title').inputValue()).resolves.toBe('Alpha three');
    expect(await page.getByLabel('Filter cards').inputValue()).toBe('alpha');
    expect(await shownIn(board, 'To do')).toEqual(['Alpha one', 'Alpha three']);

    // The link, shared: Ana, signed out in that browser, signs in and sees the same card open, over the same filter.
    const anaTab = await signedInPage(browser, null);
    tabs.push(anaTab);
    await anaTab.page.goto(page.url());
    await anaTab.page.getByLabel('Email').fill(ana.email);
    await anaTab.page.getByLabel('Password').fill('correct horse battery');
    await anaTab.page.getByRole('button', { name: 'Sign in' }).click();
    const anaDialog = anaTab.page.getByRole('dialog', { name: 'Edit card' });
    await expect(anaDialog.getByLabel('Title').inputValue()).resolves.toBe('Alpha three');
    expect(await shownIn(new BoardPage(anaTab.page), 'To do')).toEqual(['Alpha one', 'Alpha three']);

    // Closed, the card leaves the address; cleared, so does the filter. None of it made an entry for Back.
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => search(page).has('card')).toBe(false);
    await page.getByRole('button', { name: 'Clear filter' }).click();
    await expect.poll(() => new URL(page.url()).search).toBe('');
    expect(await page.evaluate(() => history.length)).toBe(entries);
  });

  it('naming a card that is not on the board opens no dialog, says so, and forgets it', async () => {
    const { path, tasks } = await newBoard('Gone card', ['Stays', 'Goes']);
    const other = await newBoard('Elsewhere', ['Not here']);
    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/tasks/${tasks[1]!.id}`, undefined, ana.token)).status).toBe(204);
    for (const id of [tasks[1]!.id, other.tasks[0]!.id]) {
      const { page } = await open(ben, `${path}?card=${id}`);
      const board = new BoardPage(page);
      await board.waitLive();
      await page.getByText('The card this link opens is not on this board: it was deleted, or is on another board.').waitFor();
      await board.card('Stays').waitFor();
      expect(await page.getByRole('dialog').count()).toBe(0);
      await expect.poll(() => search(page).has('card')).toBe(false);
    }
  });
});

import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ana, ben, browser, createTask, newBoard, node, open, serverBoard, serverTitles, tabs, useAcmeBoard } from './e2e/acme-board.js';
import { BoardPage } from './e2e/board-page.js';
import { signedInPage } from './e2e/browser.js';
import { HeldFrames } from './e2e/socket-frames.js';
import { connect, ok } from './support/sockets.js';

// Managing a board's columns in the browser: rename, add, move and delete, live for teammates, and refusals.
useAcmeBoard();

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
    await input.fill('\u200b\u00ad'); // invisible characters only: no name either, said in the form
    await input.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'A column needs a name.' }).waitFor();
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
    // The focus goes to the deleted column's neighbour's menu, not to the page's start.
    await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Column actions for In progress');
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

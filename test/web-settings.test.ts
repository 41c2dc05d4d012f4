import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../client/webhook-signature.js';
import { ana, ben, browser, cy, dee, newBoard, node, open, org, patchTask, serverBoard, tabs, useAcmeBoard } from './e2e/acme-board.js';
import { signedInPage } from './e2e/browser.js';
import { BoardPage } from './e2e/board-page.js';
import { addMember, api, createOrg, registerUser } from './support/api.js';
import { connect, nextEvent, request } from './support/sockets.js';

// An org's settings page (its name, bots' API keys, webhooks, leaving and deleting it) and a
// board's own actions (rename, archive, restore), in the browser, checked against the server.
// Webhooks may go to 127.0.0.1 here, and a failed delivery is not tried again by itself.
useAcmeBoard({ WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_ATTEMPTS: '1' });

const settingsPath = (slug = org.slug) => `/orgs/${slug}/settings`;
const focusedText = (page: Page) => page.evaluate(() => document.activeElement?.textContent?.trim());
const switcherOrgs = (page: Page) => page.getByRole('combobox', { name: 'Organization' }).locator('option').allInnerTexts();

const receivers: Server[] = [];
afterAll(() => receivers.forEach((server) => server.close()));

/** A webhook receiver on 127.0.0.1 that keeps each request's signature and body, and answers `status()`. */
async function receiver(status: () => number) {
  const got: { signature: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      got.push({ signature: String(req.headers['x-taskflow-signature']), body });
      res.writeHead(status()).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receivers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, got };
}

describe("an admin's settings", () => {
  it('makes an API key shown once, which a bot connects and writes with, and revokes it, which disconnects the bot', async () => {
    const { project, columns } = await newBoard('Bot work', []);
    const { page } = await open(ana, settingsPath());
    const form = page.getByRole('form', { name: 'New API key' });
    await form.getByLabel('Key name').fill('Release bot');
    await form.getByRole('checkbox', { name: /tasks:write/ }).check();
    await form.getByRole('button', { name: 'Create key' }).click();
    const shown = page.getByRole('textbox', { name: 'New API key' });
    const key = await shown.inputValue();
    expect(key).toMatch(/^tfk_/);

    const bot = await connect(node.url, { apiKey: key });
    expect((await request(bot, 'board:join', { projectId: project.id })).ok).toBe(true);
    const made = await request(bot, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Filed by the bot' });
    expect(made.ok).toBe(true);
    const archive = await api(node.url, 'PATCH', `/orgs/${org.slug}/projects/${project.id}`, { status: 'archived' }, key);
    expect(archive.status).toBe(403); // no `projects:write`: the boxes ticked are what it may do

    await page.getByRole('button', { name: 'Done' }).click();
    expect(await shown.count()).toBe(0); // not shown again
    await expect.poll(() => focusedText(page)).toBe('API keys'); // the focus goes on from the section's heading
    const row = page.getByRole('table', { name: 'API keys' }).getByRole('row', { name: /Release bot/ });
    expect(await row.innerText()).toMatch(/boards:read, tasks:write\s+Ana\s/); // made by
    const kicked = nextEvent(bot, 'access:revoked');
    // Asked twice: Escape takes the question back, with the focus on the first button again.
    await row.getByRole('button', { name: 'Revoke Release bot' }).click();
    await page.keyboard.press('Escape');
    expect(await row.getByRole('button', { name: 'Really revoke Release bot' }).count()).toBe(0);
    await expect.poll(() => focusedText(page)).toBe('Revoke');
    await row.getByRole('button', { name: 'Revoke Release bot' }).click();
    await row.getByRole('button', { name: 'Really revoke Release bot' }).click();
    expect(await kicked).toMatchObject({ orgId: org.id, reason: 'key_revoked' });
    await expect.poll(() => row.innerText()).toContain('revoked');
    // The audit log on the same page reads itself again: the revocation is its newest entry, with no Refresh.
    const newest = page.getByRole('table', { name: 'Audit log' }).getByRole('row').nth(1);
    await expect.poll(() => newest.innerText()).toMatch(/Ana\s+api_key\.revoked/);
    await expect(connect(node.url, { apiKey: key })).rejects.toThrow('UNAUTHORIZED');
    expect(await focusedText(page)).toBe('API keys');
  });

  it('adds a webhook whose secret, shown once, signs what its receiver gets, lists and sends again a failed delivery, replaces the secret, and shows older deliveries a page at a time', async () => {
    let status = 500;
    const hook = await receiver(() => status);
    const { page } = await open(ana, settingsPath());
    // A refusal says what the server found wrong, not only that something was.
    await page.getByLabel('Webhook URL').fill('https://user:secret@example.com/hook');
    await page.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByRole('alert').filter({ hasText: 'url: an http:// or https:// URL, without a user name or password in it' }).waitFor();
    await page.getByLabel('Webhook URL').fill(hook.url);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secret = await page.getByRole('textbox', { name: 'Signing secret' }).inputValue();
    expect(secret).toMatch(/^whsec_/);
    await page.getByRole('button', { name: 'Done' }).click();

    await newBoard('Hooked', ['Announce me']);
    await expect.poll(() => hook.got.some((request) => request.body.includes('Announce me'))).toBe(true);
    const sent = hook.got.find((request) => request.body.includes('Announce me'))!;
    expect(verifyWebhookSignature(secret, sent.signature, sent.body)).toBe(true);

    await page.getByRole('button', { name: `Deliveries to ${hook.url}` }).click();
    const deliveries = page.getByRole('table', { name: `Deliveries to ${hook.url}` });
    const created = deliveries.getByRole('row', { name: /task\.created/ });
    const refreshed = async () => {
      await page.getByRole('button', { name: `Refresh the deliveries to ${hook.url}` }).click();
      return created.innerText();
    };
    await expect.poll(refreshed).toMatch(/failed\s+1\s+HTTP 500/); // one try only, on this server
    status = 200;
    await created.getByRole('button', { name: 'Send again' }).click();
    await expect.poll(refreshed).toMatch(/delivered\s+1\s+HTTP 200/);
    expect(hook.got.filter((request) => request.body.includes('Announce me')).length).toBe(2);

    await page.getByRole('button', { name: `New secret for ${hook.url}` }).click();
    await page.getByRole('button', { name: 'Really replace the secret' }).click();
    const fresh = await page.getByRole('textbox', { name: 'New signing secret' }).inputValue();
    expect(fresh).toMatch(/^whsec_/);
    expect(fresh).not.toBe(secret);
    status = 500;
    await newBoard('Hooked again', ['Signed anew']);
    await expect.poll(() => hook.got.some((request) => request.body.includes('Signed anew'))).toBe(true);
    const resigned = hook.got.find((request) => request.body.includes('Signed anew'))!;
    expect([fresh, secret].map((key) => verifyWebhookSignature(key, resigned.signature, resigned.body))).toEqual([true, false]);
    const rows = deliveries.getByRole('row');
    const refresh = async () => (await page.getByRole('button', { name: `Refresh the deliveries to ${hook.url}` }).click(), rows);
    await expect.poll(async () => (await refresh()).nth(1).innerText()).toMatch(/failed\s+1\s+HTTP 500/);
    status = 200;

    // Twenty more: the log shows its latest page, and the older deliveries a page at a time.
    await newBoard(
      'Hooked, busy',
      Array.from({ length: 20 }, (_, i) => `Busy ${i}`),
    );
    const older = page.getByRole('button', { name: `Show older deliveries to ${hook.url}` });
    // All 22 queued first (a queue round may take the twenty in two goes), then read from the page.
    const webhooks = (await api(node.url, 'GET', `/orgs/${org.slug}/webhooks`, undefined, ana.token)).body as Array<{
      id: string;
      url: string;
    }>;
    const webhookId = webhooks.find((made) => made.url === hook.url)!.id;
    const queued = async () =>
      (await api(node.url, 'GET', `/orgs/${org.slug}/webhooks/${webhookId}/deliveries?limit=50`, undefined, ana.token)).body.length;
    await expect.poll(queued).toBe(22);
    await expect.poll(async () => (await refresh()).count()).toBe(21);
    await older.click();
    await expect.poll(() => rows.count()).toBe(23); // the header, then the 22 deliveries, each once
    expect((await rows.allInnerTexts()).slice(1).every((text) => text.startsWith('task.created'))).toBe(true);
    expect(await older.count()).toBe(0); // the last page was not a full one
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toMatch(/^refresh-deliveries-/); // the focus goes on from Refresh
    // The failed one, on the older page, sent again from there: it stays in its place, and the older page too.
    const failed = rows.nth(21);
    expect(await failed.innerText()).toMatch(/failed\s+1\s+HTTP 500/);
    await failed.getByRole('button', { name: 'Send again' }).click();
    await expect.poll(() => failed.innerText()).toMatch(/^task\.created.*\spending\s+0\s/s);
    expect(await rows.count()).toBe(23);
    await expect.poll(() => hook.got.filter((request) => request.body.includes('Signed anew')).length).toBe(2);
  });

  it('renames an org, and deletes it for its owner only once its slug is typed', async () => {
    const spare = await createOrg(node.url, ana);
    const { page } = await open(ana, settingsPath(spare.slug));
    await page.getByLabel('Organization name').fill('Spare parts');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: 'Settings of Spare parts' }).waitFor();
    expect(await switcherOrgs(page)).toContain('Spare parts');

    const remove = page.getByRole('button', { name: 'Delete organization' });
    await page.getByLabel(/to confirm/).fill(spare.slug.toUpperCase());
    expect(await remove.isDisabled()).toBe(true);
    await page.getByLabel(/to confirm/).fill(spare.slug);
    await remove.click();
    await page.waitForURL((url) => !url.pathname.includes(spare.slug));
    expect(await switcherOrgs(page)).not.toContain('Spare parts');
    expect((await api(node.url, 'GET', `/orgs/${spare.slug}`, undefined, ana.token)).status).toBe(404);
  });

  it('tells the last owner why they cannot leave, and keeps them in', async () => {
    const { page } = await open(ana, settingsPath());
    // By keyboard: the admin's sections above still load and push the button down, and a click
    // aimed at where it was can land on something else (one CI run under load never armed it).
    await page.getByRole('button', { name: 'Leave organization' }).press('Enter');
    await page.getByRole('button', { name: 'Really leave Acme' }).press('Enter');
    await page.getByRole('alert').filter({ hasText: 'the last owner cannot leave the organization' }).waitFor();
    await expect.poll(() => focusedText(page)).toBe('Leave organization'); // the question taken back, the focus on its button
    expect(new URL(page.url()).pathname).toBe(settingsPath());
    expect((await api(node.url, 'GET', `/orgs/${org.slug}`, undefined, ana.token)).status).toBe(200);
  });
});

describe("another org's user", () => {
  it("is shown that they cannot open this org's settings, and nothing of them is read", async () => {
    const tab = await signedInPage(browser, cy.token);
    tabs.push(tab);
    const { page } = tab;
    const asked: string[] = [];
    page.on('request', (request) => asked.push(new URL(request.url()).pathname));
    await page.goto(`${node.url}${settingsPath()}`);
    await page.getByRole('alert').filter({ hasText: 'You cannot open this organization' }).waitFor();
    expect(await page.getByRole('heading', { name: 'API keys' }).count()).toBe(0);
    expect(asked).toContain('/api/v1/me'); // what it did read
    expect(asked.filter((path) => path.startsWith(`/api/v1/orgs/${org.slug}`))).toEqual([]);
  });
});

describe("a member's settings", () => {
  it('offers a member only the labels and leaving, which takes them to their other org', async () => {
    const gus = await registerUser(node.url, 'Gus');
    const own = await createOrg(node.url, gus);
    await addMember(node.url, org, gus, 'member');
    const { page } = await open(gus, settingsPath());
    await page.getByRole('heading', { name: 'Settings of Acme' }).waitFor();
    expect(await page.getByRole('heading', { level: 2 }).allInnerTexts()).toEqual(['Labels', 'Leave Acme']);

    await page.getByRole('button', { name: 'Leave organization' }).click();
    await page.getByRole('button', { name: 'Really leave Acme' }).click();
    await page.waitForURL(`**/orgs/${own.slug}`);
    expect(await switcherOrgs(page)).not.toContain('Acme');
    const members = await api<{ user: { id: string } }[]>(node.url, 'GET', `/orgs/${org.slug}/members`, undefined, ana.token);
    expect(members.body.map((member) => member.user.id)).not.toContain(gus.user.id);
  });
});

describe("a board's actions", () => {
  it('renames, archives and restores a board, and teammates see each change at once', async () => {
    const { path, project } = await newBoard('Side quest', ['Find the map']);
    const [{ page: bens }, { page: dees }] = await Promise.all([open(ben, path), open(dee, path)]);
    await Promise.all([new BoardPage(bens).waitLive(), new BoardPage(dees).waitLive()]);
    const addCard = (page: Page) => page.getByRole('button', { name: /^Add a card to / });

    await bens.getByRole('button', { name: 'Rename board' }).click();
    await bens.getByLabel('Board name').fill('   ');
    await bens.getByLabel('Board name').press('Enter');
    expect(await bens.getByLabel('Board name').isVisible()).toBe(true); // no name is no rename: the form stays
    await bens.getByLabel('Board name').fill('\u200b\u200b'); // shows nothing, which only the server tells
    await bens.getByLabel('Board name').press('Enter');
    await bens
      .getByRole('alert')
      .filter({ hasText: /^Could not rename the board: Name: must have a character that shows, not only spaces or invisible ones/ })
      .waitFor();
    await bens.getByRole('button', { name: 'Rename board' }).click();
    await bens.getByLabel('Board name').fill('Main quest');
    await bens.getByLabel('Board name').press('Enter');
    await dees.getByRole('heading', { name: 'Main quest', level: 1 }).waitFor();
    await bens.getByRole('heading', { name: 'Main quest', level: 1 }).waitFor();

    await bens.getByRole('button', { name: 'Archive board' }).click();
    await bens.getByRole('button', { name: 'Really archive this board' }).click();
    await expect.poll(() => addCard(dees).count()).toBe(0);
    await expect.poll(() => addCard(bens).count()).toBe(0);
    await expect.poll(() => focusedText(bens)).toBe('Restore board');
    const { page: list } = await open(ben, `/orgs/${org.slug}`);
    await list.getByText('Archived projects (1)').click();
    await list.getByRole('list', { name: 'Archived projects' }).getByRole('link', { name: 'Main quest' }).waitFor();
    expect(await list.getByRole('list', { name: 'Projects', exact: true }).getByText('Main quest').count()).toBe(0);

    await dees.getByRole('button', { name: 'Restore board' }).click();
    await expect.poll(() => addCard(bens).count()).toBe(3);
    const stored = await api(node.url, 'GET', `/orgs/${org.slug}/projects/${project.id}`, undefined, ana.token);
    expect(stored.body.project).toMatchObject({ name: 'Main quest', status: 'active' });
  });
});

describe('the audit log', () => {
  it('lists what was done, newest first, names the person an entry is about, narrows to one action and reads older pages', async () => {
    const hal = await registerUser(node.url, 'Hal');
    await addMember(node.url, org, hal, 'viewer');
    for (let n = 1; n <= 51; n++) await api(node.url, 'POST', `/orgs/${org.slug}/projects`, { name: `Logged ${n}` }, ana.token);
    const { page } = await open(ana, settingsPath());
    const log = page.getByRole('table', { name: 'Audit log' });
    await log.getByRole('row').nth(1).waitFor();
    expect(await log.getByRole('row').nth(1).innerText()).toMatch(/Ana\s+project\.created\s+name Logged 51/);

    await page.getByLabel('Action').selectOption('member.added');
    await expect.poll(() => log.getByRole('row').nth(1).innerText()).toMatch(/Ana\s+member\.added\s+Hal · role viewer/);
    expect(await page.getByRole('button', { name: 'Show older' }).count()).toBe(0);

    await page.getByLabel('Action').selectOption('project.created');
    await expect.poll(() => log.getByRole('row').count()).toBe(51); // a heading row and the newest 50
    await page.getByRole('button', { name: 'Show older' }).click();
    await expect.poll(() => log.getByRole('row').count()).toBeGreaterThan(52);
    const names = (await log.getByRole('row').allInnerTexts()).map((row) => /name (Logged \d+)/.exec(row)?.[1]).filter(Boolean);
    expect(names.slice(0, 51)).toEqual(Array.from({ length: 51 }, (_, i) => `Logged ${51 - i}`));
  });
});

describe('deleting an account', () => {
  it('names the orgs it waits on, each a link to its settings, then signs the user out once done', async () => {
    const ivy = await registerUser(node.url, 'Ivy');
    const own = await createOrg(node.url, ivy);
    await addMember(node.url, org, ivy, 'member');
    const { page } = await open(ivy, '/account');
    await page.getByLabel('Your password', { exact: true }).fill('correct horse battery');
    await page.getByRole('button', { name: 'Delete account' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: `you are the last owner of Org ${own.slug}` })
      .waitFor();
    await page
      .getByRole('list', { name: 'Organizations you are the last owner of' })
      .getByRole('link', { name: `Org ${own.slug}` })
      .click();
    await page.getByLabel(/to confirm/).fill(own.slug);
    await page.getByRole('button', { name: 'Delete organization' }).click();
    await page.waitForURL(`**/orgs/${org.slug}`);

    await page.getByRole('link', { name: /your account/ }).click();
    await page.getByLabel('Your password', { exact: true }).fill('correct horse battery');
    await page.getByRole('button', { name: 'Delete account' }).click();
    await page.getByText('Your account was deleted.').waitFor();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    const members = await api<{ user: { id: string } }[]>(node.url, 'GET', `/orgs/${org.slug}/members`, undefined, ana.token);
    expect(members.body.map((member) => member.user.id)).not.toContain(ivy.user.id);
    expect((await api(node.url, 'POST', '/auth/login', { email: ivy.email, password: 'correct horse battery' })).status).toBe(401);
  });
});

describe("the org's labels", () => {
  it('are renamed, recoloured, made and deleted by a member; the one deleted comes off its card', async () => {
    const { tasks, project } = await newBoard('Labelled', ['Tag me']);
    const made = await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'triage', color: '#d73a4a' }, ana.token);
    expect(made.status).toBe(201);
    await patchTask(tasks[0]!, { labelIds: [made.body.id] });
    const labels = async () =>
      (await api<{ id: string; name: string; color: string }[]>(node.url, 'GET', `/orgs/${org.slug}/labels`, undefined, ana.token)).body;
    const { page } = await open(ben, settingsPath());

    const row = page.getByRole('form', { name: 'Label triage' });
    await row.getByLabel('Name of the label triage').fill('needs triage');
    await row.getByLabel('Colour of the label triage').fill('#0e8a16');
    await row.getByRole('button', { name: 'Save' }).click();
    await expect
      .poll(async () => (await labels()).find((label) => label.id === made.body.id))
      .toMatchObject({ name: 'needs triage', color: '#0e8a16' });

    await page.getByLabel('New label name').fill('blocked');
    await page.getByRole('button', { name: 'Add label' }).click();
    await expect.poll(async () => (await labels()).map((label) => label.name)).toContain('blocked');

    const renamed = page.getByRole('form', { name: 'Label needs triage' });
    await renamed.getByRole('button', { name: 'Delete the label needs triage' }).click();
    await renamed.getByRole('button', { name: 'Really delete needs triage, from every card' }).click();
    await expect.poll(async () => (await labels()).map((label) => label.name)).not.toContain('needs triage');
    expect((await serverBoard(project.id)).tasks[0]?.labelIds).toEqual([]);
    await expect.poll(() => focusedText(page)).toBe('Labels');
  });
});

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import type { BoardSnapshot, ColumnJson, ProjectJson, TaskJson } from '../../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from '../support/api.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { type RunningServer, startServer } from '../support/server.js';
import { closeAllSockets } from '../support/sockets.js';
import { launchChromium, type SignedInPage, signedInPage } from './browser.js';

// Acme, the org the browser tests work in: Ana (its owner), Ben and Dee (members), and its board
// "Launch" with five cards; Cy, of an org of his own. Set up afresh for each test file that calls
// `useAcmeBoard()`, on a server of its own that serves the web board as built for the run
// (test/support/web-build.global.ts). The bindings below are filled in before the file's tests run.

export let db: TestDatabase;
export let node: RunningServer;
export let browser: Browser;
export let org: TestOrg;
export let ana: TestUser;
export let ben: TestUser;
export let dee: TestUser;
export let cy: TestUser;
export let cyOrg: TestOrg;
/** Acme's board "Launch", and its columns "To do", "In progress" and "Done". */
export let project: ProjectJson;
export let columns: ColumnJson[];
/** Every page the file opened, whose complaints a failing test prints. */
export const tabs: SignedInPage[] = [];

/** Registers the file's hooks: Acme set up before its tests (its server started with `env` too), everything closed after them. */
export function useAcmeBoard(env: Record<string, string> = {}): void {
  beforeAll(async () => {
    db = await createTestDatabase();
    node = await startServer({ DATABASE_URL: db.url, ...env });
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
}

/** One of Launch's columns, by name. */
export const column = (name: string) => columns.find((c) => c.name === name)!;

/** Ana adds a card to a column of Launch, or of the board `on`. */
export async function createTask(
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
export async function newBoard(name: string, titles: string[]) {
  const made = await createProject(node.url, org, name);
  const tasks: TaskJson[] = [];
  for (const title of titles) tasks.push(await createTask(title, 'To do', {}, made));
  return { ...made, tasks, path: `/orgs/${org.slug}/projects/${made.project.id}` };
}

/** Ana changes a card, as a teammate would. */
export async function patchTask(task: TaskJson, patch: Record<string, unknown>): Promise<void> {
  const answer = await api(node.url, 'PATCH', `/orgs/${org.slug}/tasks/${task.id}`, patch, ana.token);
  expect(answer.status).toBe(200);
}

/** Ana, the owner, changes someone's role in Acme. */
export async function setRole(user: TestUser, role: string): Promise<void> {
  const answer = await api(node.url, 'PATCH', `/orgs/${org.slug}/members/${user.user.id}`, { role }, ana.token);
  expect(answer.status).toBe(200);
}

/** The board as the server has it. */
export async function serverBoard(projectId = project.id): Promise<BoardSnapshot> {
  const answer = await api<BoardSnapshot>(node.url, 'GET', `/orgs/${org.slug}/projects/${projectId}`, undefined, ana.token);
  expect(answer.status).toBe(200);
  return answer.body;
}

/** The titles of a column's cards, in the server's order (positions compare as plain bytes). */
export async function serverTitles(projectId: string, columnId: string): Promise<string[]> {
  const tasks = (await serverBoard(projectId)).tasks.filter((task) => task.columnId === columnId);
  return tasks.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0)).map((task) => task.title);
}

/** A card of Launch as the server has it, by title. */
export async function serverTask(title: string): Promise<TaskJson | undefined> {
  return (await serverBoard()).tasks.find((task) => task.title === title);
}

/** A page of `user`'s, signed in, at `path`. */
export async function open(
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

/**
 * A node of Acme's database whose tokens last `ttl`, and a tab of Ben's signed in on it with a
 * token of its own (`token`), for what happens as tokens end; `close` closes both.
 */
export async function benOnShortTokens(ttl: string) {
  const server = await startServer({ DATABASE_URL: db.url, TOKEN_TTL: ttl });
  const login = await api(server.url, 'POST', '/auth/login', { email: ben.email, password: 'correct horse battery' });
  expect(login.status).toBe(200);
  const tab = await signedInPage(browser, login.body.token);
  tabs.push(tab);
  const close = async () => {
    await tab.context.close();
    await server.close();
  };
  return { server, token: login.body.token as string, tab, close };
}

/** Launch's address in the web board. */
export const boardPath = () => `/orgs/${org.slug}/projects/${project.id}`;

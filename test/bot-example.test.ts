import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Actor, BoardSnapshot, ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { api, createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { freePort } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';
import { eventually } from './support/sockets.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BOT = 'client/examples/overdue-bot.ts';

let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];
let key: string;
const running: ChildProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  org = await createOrg(node.url, await registerUser(node.url, 'owner'));
  ({ project, columns } = await createProject(node.url, org, 'Operations'));
  const created = await api(
    node.url,
    'POST',
    `/orgs/${org.slug}/api-keys`,
    { name: 'overdue bot', permissions: ['boards:read', 'tasks:write'] },
    org.owner.token,
  );
  expect(created.status).toBe(201);
  key = created.body.key;
});

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

const column = (name: string) => columns.find((c) => c.name === name)!;

async function createTask(title: string, columnName: string, dueDate?: string): Promise<TaskJson> {
  const answer = await api(
    node.url,
    'POST',
    `/orgs/${org.slug}/projects/${project.id}/tasks`,
    { columnId: column(columnName).id, title, dueDate },
    org.owner.token,
  );
  expect(answer.status).toBe(201);
  return answer.body.task;
}

async function board(): Promise<BoardSnapshot> {
  const answer = await api<BoardSnapshot>(node.url, 'GET', `/orgs/${org.slug}/projects/${project.id}`, undefined, org.owner.token);
  expect(answer.status).toBe(200);
  return answer.body;
}

const columnOf = (snapshot: BoardSnapshot, taskId: string) => {
  const task = snapshot.tasks.find((t) => t.id === taskId)!;
  return snapshot.columns.find((c) => c.id === task.columnId)!.name;
};

interface Bot {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | string>;
}

/** Starts the example bot as its users would, with the API key in its environment. */
function startBot(args: string[], apiKey = key): Bot {
  const child = spawn(process.execPath, ['--import', 'tsx', BOT, '--url', node.url, '--project', project.id, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TASKFLOW_API_KEY: apiKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  return { child, output: () => output, exited };
}

/** Resolves with the exit code, or fails after `ms` with what the bot printed. */
async function exitOf(bot: Bot, ms = 30_000): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the bot did not exit within ${ms} ms:\n${bot.output()}`)), ms);
  });
  try {
    return await Promise.race([bot.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('the overdue bot example', () => {
  it('--once moves the overdue cards into an "Overdue" column it creates, and leaves the rest', async () => {
    const late = await createTask('Renew the certificate', 'To do', '2020-01-15');
    const lateStarted = await createTask('Send the invoice', 'In progress', '2020-02-01');
    const notYetDue = await createTask('Plan the offsite', 'To do', '2999-12-31');
    const undated = await createTask('Tidy the wiki', 'To do');
    const doneLate = await createTask('Ship v1', 'Done', '2020-01-01');
    expect((await board()).columns.map((c) => c.name)).not.toContain('Overdue');

    const bot = startBot(['--once']);
    expect(await exitOf(bot), bot.output()).toBe(0);

    const after = await board();
    const overdue = after.columns.filter((c) => c.name === 'Overdue');
    expect(overdue, 'one Overdue column').toHaveLength(1);
    expect(overdue[0]!.position > column('Done').position, 'at the end of the board').toBe(true);
    expect(columnOf(after, late.id)).toBe('Overdue');
    expect(columnOf(after, lateStarted.id)).toBe('Overdue');
    expect(columnOf(after, notYetDue.id)).toBe('To do');
    expect(columnOf(after, undated.id)).toBe('To do');
    expect(columnOf(after, doneLate.id)).toBe('Done');

    // The column and the moves are the bot's, in the board's event log.
    const events = await db.query<{ type: string; actor: Actor }>(
      'select type, actor from board_events where project_id = $1 and seq > $2 order by seq',
      [project.id, project.seq],
    );
    const byBot = events.filter((event) => event.actor.kind === 'bot').map((event) => event.type);
    expect(byBot).toEqual(['column.created', 'task.moved', 'task.moved']);
    expect(bot.output()).toContain('moved "Renew the certificate"');
  });

  it('--once again finds nothing to do, and makes no second column', async () => {
    const bot = startBot(['--once']);
    expect(await exitOf(bot), bot.output()).toBe(0);
    expect(bot.output()).toContain('0 card(s) moved');
    expect((await board()).columns.filter((c) => c.name === 'Overdue')).toHaveLength(1);
  });

  it('keeps watching: a card that is overdue when it is added is moved while the bot runs', async () => {
    const bot = startBot([]);
    await eventually(async () => expect(bot.output()).toContain('connection: live'), 20_000);
    await eventually(async () => expect(bot.output()).toContain('watching "Operations"'), 20_000);

    // The card not yet due comes first: the sweep that moves the late one has judged it.
    const fine = await createTask('Book the venue', 'To do', '2999-01-01');
    const late = await createTask('Pay the rent', 'To do', '2021-06-30');
    await eventually(async () => expect(columnOf(await board(), late.id)).toBe('Overdue'), 15_000);
    expect(columnOf(await board(), fine.id)).toBe('To do');

    bot.child.kill('SIGTERM');
    expect(await exitOf(bot, 10_000)).toBe(0);
  });

  it('--once gives up with 1 and a message when no server answers within --wait', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const bot = startBot(['--once', '--wait', '1', '--url', nobody]);
    expect(await exitOf(bot, 10_000)).toBe(1);
    expect(bot.output()).toContain(`could not connect to ${nobody}: no answer within 1 s`);
  });

  it('exits with 1 when its key is refused as it reconnects (revoked while its connection was down), not idle for good', async () => {
    const created = await api(
      node.url,
      'POST',
      `/orgs/${org.slug}/api-keys`,
      { name: 'short-lived', permissions: ['boards:read', 'tasks:write'] },
      org.owner.token,
    );
    const bot = startBot([], created.body.key);
    await eventually(async () => expect(bot.output()).toContain('watching "Operations"'), 20_000);
    // Revoked in the database alone (no kick reaches the bot), then its connection dropped: it reconnects with a dead key.
    await db.query('update api_keys set revoked_at = now() where id = $1', [created.body.apiKey.id]);
    for (const socket of node.server.io.of('/').sockets.values()) if (socket.data.principal.kind === 'bot') socket.disconnect(true);
    expect(await exitOf(bot, 20_000)).toBe(1);
    expect(bot.output()).toContain('the connection was closed for good');
  });

  it('exits with 1 and a message for a key the server refuses', async () => {
    const bot = startBot(['--once'], `${key.slice(0, -4)}AAAA`);
    expect(await exitOf(bot)).toBe(1);
    expect(bot.output()).toContain('could not connect');
  });
});

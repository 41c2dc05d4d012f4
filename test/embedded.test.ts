import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { BoardEventJson } from '../shared/wire.js';
import { api, createOrg, createProject, registerUser } from './support/api.js';
import { ADMIN_URL, createTestDatabase } from './support/database.js';
import {
  describeChildren,
  freePort,
  httpStatus,
  type ServerProcess,
  spawnChild,
  startRedis,
  startServerProcess,
} from './support/processes.js';
import { connect, eventually, ok } from './support/sockets.js';
import { ConfigError, loadConfig } from '../server/config.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dataDirs: string[] = [];
let running: ServerProcess | undefined;

function newDataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'taskflow-embedded-'));
  dataDirs.push(dir);
  return dir;
}

afterEach(async (context) => {
  if (context.task.result?.state === 'fail') console.error(describeChildren([running]));
  await running?.kill();
  running = undefined;
});

afterAll(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
});

/** The file the embedded mode generated its JWT secret into (the only plain file it writes in DATA_DIR). */
function secretFiles(dataDir: string): string[] {
  return readdirSync(dataDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && /secret/i.test(entry.name))
    .map((entry) => path.join(dataDir, entry.name));
}

describe('the embedded mode (no DATABASE_URL, no REDIS_URL)', () => {
  it('keeps data and the generated JWT secret in DATA_DIR across a restart', async () => {
    const dataDir = newDataDir();
    // startServerProcess passes only PATH and HOME from this environment: no DATABASE_URL, REDIS_URL or JWT_SECRET.
    running = await startServerProcess('embedded-1', { DATA_DIR: dataDir }, 90_000);
    const first = running;
    expect((await fetch(`${first.url}/healthz`)).status).toBe(200);

    const alice = await registerUser(first.url, 'alice');
    const org = await createOrg(first.url, alice);
    const { project, columns } = await createProject(first.url, org, 'Kept board');
    const created = await api(
      first.url,
      'POST',
      `/orgs/${org.slug}/projects/${project.id}/tasks`,
      { columnId: columns[0]!.id, title: 'Survive a restart' },
      alice.token,
    );
    expect(created.status).toBe(201);
    const taskId: string = created.body.task.id;
    // The one-statement update runs inside the ORM's transaction here: a change, then the same values again.
    const patch = `/orgs/${org.slug}/tasks/${taskId}`;
    const updated = await api(first.url, 'PATCH', patch, { title: 'Survive a restart!', priority: 2 }, alice.token);
    expect(updated.status).toBe(200);
    expect(updated.body.event.data.changed).toEqual(['title', 'priority']);
    expect(updated.body.task).toMatchObject({ title: 'Survive a restart!', priority: 2, version: 2 });
    const unchanged = await api(first.url, 'PATCH', patch, { title: 'Survive a restart!' }, alice.token);
    expect(unchanged.body).toMatchObject({ event: null, task: { version: 2 } });
    // A due date stays a calendar date on the ORM's path too (a label change), as PGlite reads it back.
    const label = await api(first.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'ops', color: '#0e8a16' }, alice.token);
    const dated = await api(first.url, 'PATCH', patch, { dueDate: '2031-03-14' }, alice.token);
    expect(dated.body.task.dueDate).toBe('2031-03-14');
    const labelled = await api(first.url, 'PATCH', patch, { labelIds: [label.body.id] }, alice.token);
    expect(labelled.status).toBe(200);
    expect(labelled.body.task).toMatchObject({ dueDate: '2031-03-14', labelIds: [label.body.id], version: 4 });
    expect(labelled.body.event.data.task.dueDate).toBe('2031-03-14');

    const secrets = secretFiles(dataDir);
    expect(secrets).toHaveLength(1);
    expect(statSync(secrets[0]!).mode & 0o777).toBe(0o600);
    expect(statSync(secrets[0]!).size).toBeGreaterThanOrEqual(32);

    await first.stop(20_000);
    expect(await first.exited).toBe(0);

    running = await startServerProcess('embedded-2', { DATA_DIR: dataDir }, 90_000);
    const second = running;

    // The old token still verifies: the secret was kept, not generated again.
    const meWithOldToken = await api(second.url, 'GET', '/me', undefined, alice.token);
    expect(meWithOldToken.status).toBe(200);
    expect(meWithOldToken.body.memberships).toEqual([{ org: { id: org.id, slug: org.slug, name: `Org ${org.slug}` }, role: 'owner' }]);

    const login = await api(second.url, 'POST', '/auth/login', { email: alice.email, password: 'correct horse battery' });
    expect(login.status).toBe(200);
    expect(login.body.user.id).toBe(alice.user.id);

    const board = await api(second.url, 'GET', `/orgs/${org.slug}/projects/${project.id}`, undefined, login.body.token);
    expect(board.status).toBe(200);
    expect(board.body.project).toMatchObject({ id: project.id, name: 'Kept board' });
    expect(board.body.tasks).toEqual([
      expect.objectContaining({ id: taskId, title: 'Survive a restart!', priority: 2, columnId: columns[0]!.id, dueDate: '2031-03-14' }),
    ]);

    // Over a socket, the snapshot and a rejoin read the same statements on PGlite as on PostgreSQL.
    const socket = await connect(second.url, { token: login.body.token });
    expect(await ok(socket, 'board:join', { projectId: project.id })).toEqual(board.body);
    const replay = await ok(socket, 'board:join', { projectId: project.id, sinceSeq: 0 });
    expect(replay.seq).toBe(board.body.seq);
    expect(replay.events.map((e: BoardEventJson) => [e.seq, e.type, e.actor.id])).toEqual([
      [1, 'task.created', alice.user.id],
      [2, 'task.updated', alice.user.id],
      [3, 'task.updated', alice.user.id],
      [4, 'task.updated', alice.user.id],
    ]);
    expect(replay.events[1]).toEqual(updated.body.event);
    expect(replay.events[3]).toEqual(labelled.body.event);
    // Deleting the label takes it off the task with an event, by the statements PostgreSQL runs too.
    const deleted = await api(second.url, 'DELETE', `/orgs/${org.slug}/labels/${label.body.id}`, undefined, login.body.token);
    expect(deleted.status).toBe(204);
    const unlabelled = await ok(socket, 'board:join', { projectId: project.id, sinceSeq: 4 });
    expect(unlabelled.events).toEqual([
      expect.objectContaining({
        seq: 5,
        type: 'task.updated',
        data: { task: { ...board.body.tasks[0], labelIds: [], version: 5, updatedAt: expect.any(String) }, changed: ['labelIds'] },
      }),
    ]);
    socket.close();

    expect(secretFiles(dataDir)).toEqual(secrets);
    await second.stop(20_000);
    expect(await second.exited).toBe(0);
  }, 180_000); // two starts of the embedded database, each given 90 s on a loaded machine

  // MikroORM writes values into a raw statement's text, and PGlite's knex dialect ran any text with a `;` as a script.
  it("keeps text with a ; as given, on the paths that read a statement's answer, and finds no org by such a slug; a description's byte-order mark goes alike everywhere", async () => {
    running = await startServerProcess('embedded-semicolons', { DATA_DIR: newDataDir() }, 90_000);
    const { url } = running;
    const alice = await registerUser(url, 'alice');
    const org = await createOrg(url, alice);
    const { project, columns } = await createProject(url, org, 'Board; one');
    const socket = await connect(url, { token: alice.token });
    await ok(socket, 'board:join', { projectId: project.id });
    const created = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'first; second' });
    const title = 'Fix the login bug; then deploy';
    const updated = await ok(socket, 'task:update', { taskId: created.task.id, patch: { title, description: 'a;b;', priority: 3 } });
    expect(updated.task).toMatchObject({ title, description: 'a;b;', priority: 3, version: 2 });
    expect(updated.event.data.task).toEqual(updated.task);
    const again = await ok(socket, 'task:update', { taskId: created.task.id, patch: { title } });
    expect(again).toMatchObject({ event: null, task: { title, version: 2 } });
    const overHttp = await api(url, 'PATCH', `/orgs/${org.slug}/tasks/${created.task.id}`, { description: ';' }, alice.token);
    expect(overHttp.status).toBe(200);
    expect(overHttp.body.task).toMatchObject({ title, description: ';', version: 3 });
    const renamed = await api(url, 'PATCH', `/orgs/${org.slug}/projects/${project.id}`, { name: 'Board; renamed' }, alice.token);
    expect(renamed.body).toMatchObject({ name: 'Board; renamed', seq: 4 });
    const board = await ok(socket, 'board:join', { projectId: project.id });
    expect(board.tasks).toEqual([overHttp.body.task]);
    expect(board.project).toMatchObject({ name: 'Board; renamed', seq: 4 });

    // PGlite's driver drops a byte-order mark at the start of text it reads: the server drops it
    // first, so the change, its event and the snapshot agree, and saving it again changes nothing.
    const pasted = '\uFEFFNotes pasted from a file';
    const bom = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'BOM', description: pasted });
    expect(bom.task.description).toBe('Notes pasted from a file');
    expect(bom.event.data.task).toEqual(bom.task);
    expect(await ok(socket, 'task:update', { taskId: bom.task.id, patch: { description: pasted } })).toMatchObject({ event: null });
    const snapshot = await api(url, 'GET', `/orgs/${org.slug}/projects/${project.id}`, undefined, alice.token);
    expect(snapshot.body.tasks.find((task: { id: string }) => task.id === bom.task.id)).toEqual(bom.task);
    socket.close();
    for (const slug of ['a;b', `${org.slug};`]) {
      const unknown = await api(url, 'GET', `/orgs/${encodeURIComponent(slug)}`, undefined, alice.token);
      expect({ slug, status: unknown.status, code: unknown.body?.error?.code }).toEqual({ slug, status: 404, code: 'NOT_FOUND' });
    }
  }, 120_000); // a start of the embedded database, given 90 s

  // PGlite takes no lock of its own: a second process on the folder left it unreadable.
  it('refuses a second server on the same DATA_DIR with one line; the first serves on, and restarts with its data', async () => {
    const dataDir = newDataDir();
    running = await startServerProcess('embedded-held', { DATA_DIR: dataDir }, 90_000);
    const first = running;
    const alice = await registerUser(first.url, 'alice');
    const org = await createOrg(first.url, alice);

    const second = await runToExit({ PORT: String(await freePort()), DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toBe(
      `DATA_DIR ${dataDir} is in use by process ${first.pid}: stop it first (if no TaskFlow runs on this folder, remove ${lockFile(dataDir)})`,
    );
    expect((await api(first.url, 'GET', '/me', undefined, alice.token)).status).toBe(200);

    await first.stop(20_000);
    expect(await first.exited).toBe(0);
    expect(existsSync(lockFile(dataDir))).toBe(false);
    running = await startServerProcess('embedded-held-again', { DATA_DIR: dataDir }, 90_000);
    const me = await api(running.url, 'GET', '/me', undefined, alice.token);
    expect(me.body.memberships).toEqual([{ org: { id: org.id, slug: org.slug, name: `Org ${org.slug}` }, role: 'owner' }]);
  }, 240_000); // three starts of the embedded database, each given 90 s on a loaded machine

  // Whoever read the node's stdout (a log shipper that died, `npm start | head`) is gone when it is
  // told to stop, so its last log lines fail EPIPE. Before, the logger wrote them again every 100 ms
  // for ever as the process exited, and it never did (the operator review).
  it('stops on SIGTERM when whoever read its log has gone', async () => {
    running = await startServerProcess('embedded-log-reader-gone', { DATA_DIR: newDataDir(), LOG_LEVEL: 'info' }, 90_000);
    running.process.stdout!.destroy();
    running.process.kill('SIGTERM');
    const ended = await Promise.race([running.exited, sleep(20_000).then(() => 'still running 20 s after SIGTERM')]);
    expect(ended, running.output()).toBe(0);
  }, 120_000); // a start of the embedded database, given 90 s

  it('takes over the folder of a server that was killed', async () => {
    const dataDir = newDataDir();
    running = await startServerProcess('embedded-killed', { DATA_DIR: dataDir }, 90_000);
    const alice = await registerUser(running.url, 'alice');
    const killed = running.pid;
    await running.kill();
    expect(JSON.parse(readFileSync(lockFile(dataDir), 'utf8'))).toMatchObject({ pid: killed });

    running = await startServerProcess('embedded-after-kill', { DATA_DIR: dataDir }, 90_000);
    expect(JSON.parse(readFileSync(lockFile(dataDir), 'utf8'))).toMatchObject({ pid: running.pid });
    const login = await api(running.url, 'POST', '/auth/login', { email: alice.email, password: 'correct horse battery' });
    expect(login.status).toBe(200);
  }, 180_000); // two starts, each given 90 s

  it('starts on a folder whose first start was killed while it made the database (a Ctrl-C in its first seconds)', async () => {
    const dataDir = newDataDir();
    const first = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        LOG_LEVEL: 'warn',
        PORT: String(await freePort()),
        DATA_DIR: dataDir,
      },
      stdio: 'ignore',
    });
    const exited = new Promise((resolve) => first.once('exit', resolve));
    // Killed once PGlite has begun writing the cluster's files, long before it is done with them.
    const begun = ['pgdata', 'pgdata.making'].map((folder) => path.join(dataDir, folder, 'PG_VERSION'));
    await eventually(() => expect(begun.some((file) => existsSync(file))).toBe(true), 60_000);
    first.kill('SIGKILL');
    await exited;

    running = await startServerProcess('embedded-after-first-kill', { DATA_DIR: dataDir }, 90_000);
    const alice = await registerUser(running.url, 'alice');
    expect((await api(running.url, 'GET', '/me', undefined, alice.token)).status).toBe(200);
  }, 180_000); // a start given 90 s, and the one killed
});

/** The file that says which process holds the embedded database's folder. */
function lockFile(dataDir: string): string {
  return path.join(dataDir, 'taskflow.lock');
}

/** Runs `server/main.ts` with `env` only (plus PATH and HOME) and waits for it to exit, killing it after `ms`. */
async function runToExit(env: Record<string, string>, ms = 60_000): Promise<{ code: number | string; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  const code = await new Promise<number | string>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, ms);
    child.once('exit', (exitCode, signal) => {
      clearTimeout(timer);
      resolve(exitCode ?? signal ?? 'unknown');
    });
  });
  return { code, stderr, stdout };
}

const SECRET = 'a-secret-of-at-least-thirty-two-characters';

/** An embedded start's variables, in a new DATA_DIR, with `vars` besides. */
const embedded = (vars: Record<string, string>) => ({ DATA_DIR: newDataDir(), ...vars });

/** The refusal `loadConfig` (start-up's first step) throws for `env`, or null if it takes it. */
function refusalOf(env: Record<string, string>): ConfigError | null {
  try {
    loadConfig(env);
    return null;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
}

describe('invalid configuration', { timeout: 90_000 }, () => {
  // What the environment says on its face is refused by `loadConfig` before anything starts, so
  // it is checked here in this process; the start's own way with a refusal (one line on stderr,
  // a non-zero exit) is checked once below for those, and for each refusal met later on.
  const refusedOnItsFace: Array<[string, () => Record<string, string>, string]> = [
    ['PORT=abc', () => embedded({ PORT: 'abc' }), 'PORT'],
    ['PORT out of range', () => embedded({ PORT: '70000' }), 'PORT'],
    ['DATABASE_URL without JWT_SECRET', () => ({ DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres' }), 'JWT_SECRET'],
    ['a JWT_SECRET that is too short', () => embedded({ JWT_SECRET: 'short' }), 'JWT_SECRET'],
    ['TOKEN_TTL=soon', () => embedded({ TOKEN_TTL: 'soon' }), 'TOKEN_TTL'],
    ['a TOKEN_TTL past ten years', () => embedded({ TOKEN_TTL: '99999999d' }), 'TOKEN_TTL'],
    // No deadline at all would answer every request UNAVAILABLE.
    ['ANSWER_DEADLINE=0', () => embedded({ ANSWER_DEADLINE: '0' }), 'ANSWER_DEADLINE'],
    ['SMTP_URL without MAIL_FROM', () => embedded({ SMTP_URL: 'smtp://127.0.0.1:25' }), 'MAIL_FROM'],
    ['METRICS_PORT the same as PORT', () => embedded({ PORT: '3456', METRICS_PORT: '3456' }), 'METRICS_PORT'],
    ['a REDIS_URL that is not redis://', () => embedded({ REDIS_URL: 'http://127.0.0.1:6379' }), 'REDIS_URL'],
    // `new URL` throws on it: a check of the database number that ran anyway ended the start with a stack.
    ['a REDIS_URL without its scheme', () => embedded({ REDIS_URL: '127.0.0.1:6379' }), 'REDIS_URL'],
    ['a REDIS_URL whose database is not a number', () => embedded({ REDIS_URL: 'redis://127.0.0.1:6379/abc' }), 'REDIS_URL'],
    ['a JWT_SECRET of spaces', () => embedded({ JWT_SECRET: ' '.repeat(40) }), 'JWT_SECRET'],
    // A board's seq is PostgreSQL's integer: a larger retention failed every change made the quick way.
    ['a BOARD_EVENT_RETENTION past an integer', () => embedded({ BOARD_EVENT_RETENTION: '3000000000' }), 'BOARD_EVENT_RETENTION'],
    ['a MAIL_FROM that is not an address', () => embedded({ SMTP_URL: 'smtp://127.0.0.1:25', MAIL_FROM: 'board' }), 'MAIL_FROM'],
    [
      'a SUPER_ADMIN_EMAILS entry that is not an address',
      () => embedded({ SUPER_ADMIN_EMAILS: 'ops@example.com, ops' }),
      'SUPER_ADMIN_EMAILS',
    ],
  ];

  for (const [name, env, variable] of refusedOnItsFace) {
    it(`refuses ${name} in one line naming ${variable}`, () => {
      const refusal = refusalOf(env());
      expect(refusal?.message).toContain(variable);
      expect(refusal?.message).not.toContain('\n');
    });
  }

  // Each starts the server's process (up to 60 s on a loaded machine), which must stop on its own.
  const refusedByTheStart: Array<[string, () => Promise<Record<string, string>>, string]> = [
    ['PORT=abc', async () => embedded({ PORT: 'abc' }), 'PORT'],
    // `.invalid` names never resolve (RFC 2606); before, the lookup's error ended the start with a stack.
    ['a HOST no address is known by', async () => embedded({ PORT: String(await freePort()), HOST: 'taskflow.invalid' }), 'HOST'],
    [
      'a METRICS_HOST no address is known by',
      async () => embedded({ PORT: String(await freePort()), METRICS_PORT: String(await freePort()), METRICS_HOST: 'taskflow.invalid' }),
      'METRICS_HOST',
    ],
    [
      'a DATABASE_URL no PostgreSQL answers at',
      async () => ({
        PORT: String(await freePort()),
        JWT_SECRET: SECRET,
        DATABASE_URL: `postgres://postgres@127.0.0.1:${await freePort()}/taskflow`,
      }),
      'DATABASE_URL',
    ],
  ];

  for (const [name, env, variable] of refusedByTheStart) {
    it(`stops start-up with ${name}: a non-zero exit and one line on stderr naming ${variable}`, async () => {
      const { code, stderr } = await runToExit(await env());
      expect(code).not.toBe(0);
      expect(code).not.toBe('SIGKILL'); // it stopped of itself, not killed at runToExit's bound
      const lines = stderr.trim().split('\n');
      expect(lines, stderr).toHaveLength(1);
      expect(lines[0]).toContain(variable);
    });
  }

  it('stops start-up with one line naming DATA_DIR when its database cannot be opened', async () => {
    const dataDir = newDataDir();
    mkdirSync(path.join(dataDir, 'pgdata'));
    writeFileSync(path.join(dataDir, 'pgdata', 'PG_VERSION'), '17\n'); // a folder PGlite cannot read
    const { code, stderr } = await runToExit({ PORT: String(await freePort()), DATA_DIR: dataDir });
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines, stderr).toHaveLength(1);
    expect(lines[0]).toMatch(
      new RegExp(
        `^cannot open the embedded database in ${path.join(dataDir, 'pgdata')} \\(DATA_DIR\\): PGlite stopped with "RuntimeError: .{1,200}"$`,
      ),
    );
    expect(existsSync(lockFile(dataDir))).toBe(false);
  });

  it('stops start-up when PORT is taken with one line naming it, and lets go of DATA_DIR', async () => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const dataDir = newDataDir();
      const { code, stderr } = await runToExit({ HOST: '127.0.0.1', PORT: String(port), DATA_DIR: dataDir });
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`cannot listen on 127.0.0.1:${port} (PORT, HOST): another process is listening there`);
      expect(existsSync(lockFile(dataDir))).toBe(false);
    } finally {
      taken.close();
    }
  });

  it('stops start-up when METRICS_PORT is taken with one line naming it', async () => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    const db = await createTestDatabase();
    try {
      const env = {
        HOST: '127.0.0.1',
        PORT: String(await freePort()),
        METRICS_PORT: String(port),
        JWT_SECRET: SECRET,
        DATABASE_URL: db.url,
      };
      const { code, stderr } = await runToExit(env);
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(`cannot listen on 127.0.0.1:${port} (METRICS_PORT, METRICS_HOST): another process is listening there`);
    } finally {
      taken.close();
      await db.drop();
    }
  });

  it('stops start-up with one line naming REDIS_URL when its Redis refuses it: a database it has not got, no password where it wants one, or a wrong one', async () => {
    const redis = await startRedis();
    try {
      const refusal = async (url: string) => {
        const { code, stderr } = await runToExit({ PORT: String(await freePort()), DATA_DIR: newDataDir(), REDIS_URL: url });
        expect(code).toBe(1);
        expect(stderr.trim().split('\n'), stderr).toHaveLength(1);
        return stderr.trim();
      };
      // Before, ioredis logged the refused SELECT and the node ran on database 0, among another deployment's keys.
      expect(await refusal(`${redis.url}/99`)).toBe(
        `invalid configuration: REDIS_URL: the Redis at 127.0.0.1:${redis.port} refused it: ERR DB index is out of range`,
      );
      const admin = new Redis(redis.url);
      await admin.config('SET', 'requirepass', 'the-password-it-wants');
      admin.disconnect();
      expect(await refusal(redis.url)).toMatch(
        new RegExp(`^invalid configuration: REDIS_URL: the Redis at 127\\.0\\.0\\.1:${redis.port} refused it: NOAUTH `),
      );
      const wrong = await refusal(redis.url.replace('//', '//:not-the-password@'));
      expect(wrong).toMatch(
        new RegExp(`^invalid configuration: REDIS_URL: the Redis at 127\\.0\\.0\\.1:${redis.port} refused it: WRONGPASS `),
      );
      expect(wrong).not.toContain('not-the-password');
    } finally {
      await redis.stop();
    }
  });

  it('starts on a REDIS_URL whose server takes the connection and never answers: serving within seconds, not ready', async () => {
    const silent = createServer(() => undefined); // takes connections, says nothing (a frozen Redis)
    const redisPort = await freePort();
    await new Promise<void>((resolve) => silent.listen(redisPort, '127.0.0.1', resolve));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    try {
      const env = {
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: newDataDir(),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        LOG_LEVEL: 'warn',
      };
      const child = spawnChild('silent-redis', process.execPath, ['--import', 'tsx', 'server/main.ts'], {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      });
      running = Object.assign(child, { url, port });
      // A first check of REDIS_URL that waited for an answer held the start for good.
      await eventually(async () => expect(await httpStatus(`${url}/healthz`)).toBe(200), 30_000);
      expect(await httpStatus(`${url}/readyz`)).toBe(503);
    } finally {
      silent.close();
    }
  }, 60_000);

  it('stops start-up with one line when DATABASE_URL names a database that does not exist, and does not create it', async () => {
    const missing = `taskflow_test_missing_${Date.now().toString(36)}`;
    const url = new URL(ADMIN_URL);
    url.pathname = `/${missing}`;
    // With Redis, whose nodes also link to the database for changes of access: that link waits for
    // the start, which used to warn first, with a stack, of its own failure.
    const redis = await startRedis();
    try {
      const env = { PORT: String(await freePort()), JWT_SECRET: SECRET, DATABASE_URL: url.toString(), REDIS_URL: redis.url };
      const { code, stderr, stdout } = await runToExit(env);
      expect(code).toBe(1);
      expect(stderr.trim()).toBe(
        `cannot open DATABASE_URL (${url.hostname}:${url.port || 5432}/${missing}): database "${missing}" does not exist; create it first`,
      );
      expect(stdout).toBe(''); // nothing at warn
    } finally {
      await redis.stop();
    }
    const client = new pg.Client({ connectionString: ADMIN_URL });
    await client.connect();
    try {
      expect((await client.query('select 1 from pg_database where datname = $1', [missing])).rows).toEqual([]);
    } finally {
      await client.end();
    }
  });
});

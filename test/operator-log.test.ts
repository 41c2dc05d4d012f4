import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrationsList } from '../migrations/index.js';
import { buildId, hashSources } from '../server/build-id.js';
import { createOrg, createProject, registerUser } from './support/api.js';
import { admin, createTestDatabase, type TestDatabase } from './support/database.js';
import { type RedisProcess, startRedis, startServerProcess } from './support/processes.js';
import { type RunningServer, startServer, TEST_JWT_SECRET } from './support/server.js';
import { closeAllSockets, connect, eventually, ok, request } from './support/sockets.js';

// What an operator reads in the log at the moments that matter: which migrations a start applied,
// and when the node stopped or started being ready, once each, not once a probe.
let db: TestDatabase;
let redis: RedisProcess;
let node: RunningServer;
const lines: Array<{
  level: number;
  msg: string;
  build?: string;
  migrations?: string[];
  redis?: string;
  req?: { url: string };
  err?: { message: string };
}> = [];
const raw: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await startRedis();
  node = await startServer(
    { DATABASE_URL: db.url, REDIS_URL: redis.url, LOG_LEVEL: 'info' },
    {
      logStream: {
        write: (line) => {
          raw.push(line);
          lines.push(JSON.parse(line));
        },
      },
    },
  );
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await redis?.stop();
  await db?.drop();
});

const logged = (msg: string) => lines.filter((line) => line.msg === msg);
const readyz = async () => (await fetch(`${node.url}/readyz`)).status;

describe("the operator's log", () => {
  it('names the migrations a start applied', () => {
    const [applied, ...more] = logged(`applied ${migrationsList.length} migration(s)`);
    expect(more).toEqual([]);
    expect(applied!.migrations).toEqual(migrationsList.map((migration) => migration.name));
  });

  it('says which build it serves: a hash of its sources, the same for a copy of them and another for any change', async () => {
    const [serving, ...more] = logged('serving this build');
    expect(more).toEqual([]);
    expect(serving).toEqual(expect.objectContaining({ level: 30, build: expect.stringMatching(/^[0-9a-f]{12}$/) }));
    expect(serving!.build).toBe(await buildId());
    const copy = async (change: (root: string) => Promise<void>) => {
      const root = await mkdtemp(join(tmpdir(), 'taskflow-build-'));
      try {
        await mkdir(join(root, 'server'));
        await writeFile(join(root, 'server', 'main.ts'), 'main');
        await writeFile(join(root, 'package.json'), '{}');
        await change(root);
        return await hashSources(root);
      } finally {
        await rm(root, { recursive: true });
      }
    };
    const asMade = await copy(async () => undefined);
    expect(asMade).toMatch(/^[0-9a-f]{12}$/);
    // What a build makes of its sources (the web board's dist, the installed modules) is not the build.
    expect(
      await copy((root) =>
        mkdir(join(root, 'client', 'web', 'dist'), { recursive: true }).then(() =>
          writeFile(join(root, 'client', 'web', 'dist', 'index.js'), 'x'),
        ),
      ),
    ).toBe(asMade);
    expect(await copy((root) => writeFile(join(root, 'server', 'main.ts'), 'main2'))).not.toBe(asMade);
    expect(await copy((root) => writeFile(join(root, 'shared.ts'), 'not a source'))).toBe(asMade);
    // Nor is what is not code: docs, editors' leftovers, a database folder put among the sources; nor Windows' line ends.
    expect(await copy((root) => writeFile(join(root, 'server', 'README.md'), 'docs'))).toBe(asMade);
    expect(await copy((root) => writeFile(join(root, 'server', '.main.ts.swp'), 'x'))).toBe(asMade);
    expect(
      await copy((root) =>
        mkdir(join(root, 'server', 'data', 'base'), { recursive: true }).then(() =>
          writeFile(join(root, 'server', 'data', 'base', '1259'), 'x'),
        ),
      ),
    ).toBe(asMade);
    expect(await copy((root) => writeFile(join(root, 'server', 'main.ts'), 'main\r\n'))).toBe(
      await copy((root) => writeFile(join(root, 'server', 'main.ts'), 'main\n')),
    );
    expect(await copy((root) => writeFile(join(root, 'server', 'other.ts'), ''))).not.toBe(asMade);
  });

  it('says how many nodes on its Redis are alike, and warns of one that signs with another JWT_SECRET or runs another build', async () => {
    type Line = { level: number; msg: string; nodes?: number; unlike?: number; build?: string; others?: string[] };
    const aboutNodes = (log: Line[]) => log.filter((line) => line.msg.includes('nodes on this Redis') || line.msg.includes('another node'));
    const started = async (env: Record<string, string>, build?: string) => {
      const log: Line[] = [];
      const started = await startServer(
        { DATABASE_URL: db.url, REDIS_URL: redis.url, LOG_LEVEL: 'info', ...env },
        { logStream: { write: (line) => log.push(JSON.parse(line)) }, ...(build ? { build } : {}) },
      );
      return { log, close: () => started.close() };
    };
    const build = logged('serving this build')[0]!.build!;
    const alike = (nodes: number) => [expect.objectContaining({ level: 30, nodes, build, msg: expect.stringContaining('run this build') })];
    await expect.poll(() => aboutNodes(lines)).toEqual(alike(1));

    const same = await started({});
    await expect.poll(() => aboutNodes(same.log)).toEqual(alike(2));
    const otherSecret = await started({ JWT_SECRET: 'another-secret-that-is-long-enough-for-hs256-9876543210' });
    await expect
      .poll(() => aboutNodes(otherSecret.log))
      .toEqual([
        expect.objectContaining({ level: 40, nodes: 3, unlike: 2, msg: expect.stringContaining('set the same JWT_SECRET on every node') }),
      ]);
    await otherSecret.close();
    const otherBuild = await started({}, '0123456789ab');
    await expect
      .poll(() => aboutNodes(otherBuild.log))
      .toEqual([
        expect.objectContaining({
          level: 40,
          nodes: 3,
          build: '0123456789ab',
          others: [build],
          msg: expect.stringContaining('another build'),
        }),
      ]);
    // A stopped node's mark goes with it: a node started next finds the two left, alike.
    await otherBuild.close();
    await same.close();
    const next = await started({});
    try {
      await expect.poll(() => aboutNodes(next.log)).toEqual(alike(2));
    } finally {
      await next.close();
    }
  }, 60_000);

  it('says that a stop is done, after saying that it began and how many sockets it closes', async () => {
    const stopping = await startServerProcess('stopping', { DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info' });
    const user = await registerUser(stopping.url, 'leaving');
    await connect(stopping.url, { token: user.token });
    await connect(stopping.url, { token: user.token });
    await stopping.stop();
    expect(await stopping.exited).toBe(0);
    const logged = stopping
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg: string; sockets?: number; underWay?: number; refused?: number; drainMs?: number })
      .filter((line) => !line.msg.startsWith('incoming request') && !line.msg.startsWith('request completed'));
    expect(logged.slice(-3)).toEqual([
      expect.objectContaining({ msg: 'shutting down' }),
      expect.objectContaining({
        msg: 'work under way answered; closing the sockets',
        sockets: 2,
        underWay: 0,
        refused: 0,
        drainMs: expect.any(Number),
      }),
      expect.objectContaining({ msg: 'stopped' }),
    ]);
  }, 60_000);

  it('says once that the node is not ready while Redis is down, however often it is probed, and once that it is ready again', async () => {
    expect(await readyz()).toBe(200);
    await redis.stop();
    await eventually(async () => expect(await readyz()).toBe(503), 10_000);
    for (let probe = 0; probe < 5; probe++) expect(await readyz()).toBe(503);
    expect(logged('not ready').map((line) => line.redis)).toEqual(['down']);

    redis = await startRedis(redis.port);
    await eventually(async () => expect(await readyz()).toBe(200), 20_000);
    for (let probe = 0; probe < 3; probe++) expect(await readyz()).toBe(200);
    expect(logged('ready again').map((line) => line.redis)).toEqual(['ok']);
    expect(logged('not ready')).toHaveLength(1);
    // Nor is each probe's request logged at info, as other requests are.
    expect(lines.filter((line) => line.req?.url === '/readyz')).toEqual([]);
  }, 60_000);

  it('names only what it checks in its readiness lines: no Redis for a node without one', async () => {
    const alone = await createTestDatabase();
    const own: Array<{ msg: string; database?: string; redis?: string }> = [];
    const single = await startServer(
      { DATABASE_URL: alone.url, LOG_LEVEL: 'info' },
      { logStream: { write: (line) => own.push(JSON.parse(line)) } },
    );
    const readOnly = async (on: boolean) => {
      await admin(`alter database ${alone.name} ${on ? 'set default_transaction_read_only = on' : 'reset default_transaction_read_only'}`);
      await admin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${alone.name}' and pid <> pg_backend_pid()`);
    };
    try {
      await readOnly(true);
      await eventually(async () => expect((await fetch(`${single.url}/readyz`)).status).toBe(503), 10_000);
      await readOnly(false);
      await eventually(async () => expect((await fetch(`${single.url}/readyz`)).status).toBe(200), 10_000);
      // A probe may also meet a session being ended (`database: down`) on the way: only what the lines name is asserted.
      const readiness = own.filter((line) => ['not ready', 'ready again'].includes(line.msg));
      expect(readiness[0]).toMatchObject({ msg: 'not ready' });
      expect(readiness.at(-1)).toMatchObject({ msg: 'ready again', database: 'ok' });
      // Before, a node without Redis said "redis: ok" here.
      expect(readiness.filter((line) => 'redis' in line)).toEqual([]);
    } finally {
      await single.close();
      await alone.drop();
    }
  }, 60_000);

  it('says at the start that mail is only written to the log, with no SMTP_URL', () => {
    const warning = lines.filter((line) => line.msg.includes('SMTP_URL'));
    expect(warning).toEqual([expect.objectContaining({ level: 40, msg: expect.stringContaining('not mailed') })]);
  });

  it('says once that requests come through a proxy TRUST_PROXY does not name', async () => {
    const warning = (line: { msg: string }) => line.msg.includes('X-Forwarded-For') && line.msg.includes('TRUST_PROXY');
    expect(lines.filter(warning)).toEqual([]);
    for (let i = 0; i < 3; i++) await fetch(`${node.url}/api/v1/me`, { headers: { 'x-forwarded-for': '198.51.100.7' } });
    expect(lines.filter(warning)).toHaveLength(1);
  });

  it("writes a statement that failed without the user's text it carried", async () => {
    const org = await createOrg(node.url, await registerUser(node.url, 'writer'));
    const { project, columns } = await createProject(node.url, org);
    const socket = await connect(node.url, { token: org.owner.token });
    await ok(socket, 'board:join', { projectId: project.id });
    const task = (await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Before' })).task;
    // A bug's stand-in: the database refuses these titles, quoting the row as PostgreSQL's own checks do.
    await db.query(`create function taskflow_test_refuse() returns trigger language plpgsql as $$
                      begin
                        if new.title like 'Private%' then
                          raise exception 'refused by a test' using detail = 'Failing row contains (' || new.title || ')';
                        end if;
                        return new;
                      end $$`);
    await db.query(
      'create trigger taskflow_test_refuse before insert or update on tasks for each row execute function taskflow_test_refuse()',
    );
    try {
      const changes = [
        request(socket, 'task:update', { taskId: task.id, patch: { title: "Private: Ana's salary" } }), // one message
        request(socket, 'task:update', { taskId: task.id, patch: { title: 'Private: O\\Brien', labelIds: [] } }), // the ORM
        request(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Private: the merger' }),
      ];
      for (const answer of await Promise.all(changes)) expect(answer).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
    } finally {
      await db.query('drop trigger taskflow_test_refuse on tasks');
    }
    const failures = lines.filter((line) => line.err?.message.includes('refused by a test'));
    expect(failures).toHaveLength(3);
    expect(failures.filter((line) => /^update "tasks" set "title" = +E'…', /.test(line.err!.message))).toHaveLength(1); // the ORM's, its values left out
    expect(raw.filter((line) => line.includes('Private'))).toEqual([]);
  });
});

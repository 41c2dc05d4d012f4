import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnJson, ProjectJson } from '../shared/wire.js';
import { createOrg, createProject } from './support/api.js';
import { createTestDatabase, holdLock, type TestDatabase } from './support/database.js';
import {
  barrier,
  call,
  type Cast,
  castOrg,
  createKey,
  type CreatedKey,
  expectAllRefused,
  orgRows,
  recordAll,
  type Refused,
} from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, eventually, nextEvent, ok, request } from './support/sockets.js';

const KEY_PATTERN = /^tfk_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43,}$/;

let db: TestDatabase;
let node: RunningServer;
let cast: Cast;
let project: ProjectJson;
let columns: ColumnJson[];
let otherProject: ProjectJson;
let otherColumns: ColumnJson[];
let readKey: CreatedKey;
let writeKey: CreatedKey;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  cast = await castOrg(node.url);
  ({ project, columns } = await createProject(node.url, cast.org));
  ({ project: otherProject, columns: otherColumns } = await createProject(node.url, cast.otherOrg));
  readKey = await createKey(node.url, cast.org, ['boards:read'], { name: 'reader' });
  writeKey = await createKey(node.url, cast.org, ['boards:read', 'tasks:write'], { name: 'writer' });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

const keys = (path = '') => `/orgs/${cast.org.slug}/api-keys${path}`;

async function keyRow(id: string) {
  const [row] = await db.query<{ key_hash: string; last_used_at: Date | null; revoked_at: Date | null; expires_at: Date | null }>(
    'select * from api_keys where id = $1',
    [id],
  );
  return row!;
}

function belowAdmin(): Refused[] {
  return [
    { who: 'member', auth: cast.member.token },
    { who: 'viewer', auth: cast.viewer.token },
    { who: 'non-member', auth: cast.outsider.token },
    { who: "another org's admin", auth: cast.otherAdmin.token },
    { who: 'bot with every permission', auth: writeKey.key },
  ];
}

/** Expects `key` to be refused on HTTP (401) and at the socket handshake (UNAUTHORIZED). */
async function expectDead(key: string): Promise<void> {
  const answer = await call(node.url, 'GET', `/orgs/${cast.org.slug}/projects`, { auth: key });
  expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
  await expect(connect(node.url, { apiKey: key })).rejects.toThrow('UNAUTHORIZED');
}

describe('managing keys', () => {
  it('lets an admin create a key, shown once: 201 {apiKey, key}, stored only as its SHA-256', async () => {
    const answer = await call(node.url, 'POST', keys(), {
      body: { name: 'ci bot', permissions: ['boards:read', 'tasks:write'] },
      auth: cast.admin.token,
    });
    expect(answer.status).toBe(201);
    const { apiKey, key } = answer.body;
    expect(key).toMatch(KEY_PATTERN);
    expect(apiKey).toEqual({
      id: expect.any(String),
      name: 'ci bot',
      prefix: expect.any(String),
      permissions: ['boards:read', 'tasks:write'],
      createdBy: cast.admin.user.id,
      createdAt: expect.any(String),
      expiresAt: null,
      lastUsedAt: null,
      revokedAt: null,
    });
    expect(key.startsWith(`tfk_${apiKey.prefix}_`)).toBe(true);
    const row = await keyRow(apiKey.id);
    expect(row.key_hash).toBe(createHash('sha256').update(key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(key.split('_').slice(2).join('_'));
  });

  it('lists keys without the key or its hash', async () => {
    const answer = await call(node.url, 'GET', keys(), { auth: cast.admin.token });
    expect(answer.status).toBe(200);
    expect(answer.body.map((k: { id: string }) => k.id)).toEqual(expect.arrayContaining([readKey.apiKey.id, writeKey.apiKey.id]));
    const text = JSON.stringify(answer.body);
    for (const created of [readKey, writeKey]) {
      expect(text).not.toContain(created.key);
      expect(text).not.toContain(created.key.split('_').slice(2).join('_'));
      expect(text).not.toContain((await keyRow(created.apiKey.id)).key_hash);
    }
    expect(text).not.toMatch(/keyHash|key_hash|"key"/);
  });

  it('refuses members, viewers, outsiders, another org and any key to create, list or revoke keys', async () => {
    await expectAllRefused(db, cast.org.id, belowAdmin(), (auth) =>
      call(node.url, 'POST', keys(), { body: { name: 'sneaky', permissions: ['tasks:write'] }, auth }),
    );
    await expectAllRefused(db, cast.org.id, belowAdmin(), (auth) => call(node.url, 'GET', keys(), { auth }));
    await expectAllRefused(db, cast.org.id, belowAdmin(), (auth) => call(node.url, 'DELETE', keys(`/${readKey.apiKey.id}`), { auth }));
    expect((await keyRow(readKey.apiKey.id)).revoked_at).toBeNull();
  });

  it('refuses an unknown permission, an expiry in the past and an unknown body key with 400', async () => {
    for (const body of [
      { name: 'x', permissions: ['members:manage'] },
      { name: 'x', permissions: [] },
      { name: 'x', permissions: ['boards:read'], expiresAt: new Date(Date.now() - 60_000).toISOString() },
      { name: 'x', permissions: ['boards:read'], orgId: cast.otherOrg.id },
    ]) {
      await expectAllRefused(
        db,
        cast.org.id,
        [{ who: 'owner', auth: cast.owner.token }],
        (auth) => call(node.url, 'POST', keys(), { body, auth }),
        400,
      );
    }
  });
});

describe('a key with boards:read', () => {
  it('joins boards and reads projects, but may not create tasks', async () => {
    const socket = await connect(node.url, { apiKey: readKey.key });
    expect(await ok(socket, 'board:join', { projectId: project.id })).toMatchObject({ project: { id: project.id } });
    const list = await call(node.url, 'GET', `/orgs/${cast.org.slug}/projects`, { auth: readKey.key });
    expect(list.status).toBe(200);
    expect(list.body.map((p: ProjectJson) => p.id)).toContain(project.id);
    expect((await call(node.url, 'GET', `/orgs/${cast.org.slug}/projects/${project.id}`, { auth: readKey.key })).status).toBe(200);

    const before = await orgRows(db, cast.org.id);
    expect(await request(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'no' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    const http = await call(node.url, 'POST', `/orgs/${cast.org.slug}/projects/${project.id}/tasks`, {
      body: { columnId: columns[0]!.id, title: 'no' },
      auth: readKey.key,
    });
    expect(http.status).toBe(403);
    const newProject = await call(node.url, 'POST', `/orgs/${cast.org.slug}/projects`, { body: { name: 'no' }, auth: readKey.key });
    expect(newProject.status).toBe(403);
    expect(await orgRows(db, cast.org.id)).toEqual(before);
  });
});

describe('a key without boards:read', () => {
  it("hears none of the org's events, which name its projects and members", async () => {
    const blind = await createKey(node.url, cast.org, ['tasks:write'], { name: 'blind' });
    const blindSocket = await connect(node.url, { apiKey: blind.key });
    const readerSocket = await connect(node.url, { apiKey: readKey.key });
    const heardByBlind = recordAll(blindSocket);
    const reached = nextEvent(readerSocket, 'org:event', (e) => e.type === 'project.created' && e.data.project.name === 'Secret plan');
    expect(
      (await call(node.url, 'POST', `/orgs/${cast.org.slug}/projects`, { body: { name: 'Secret plan' }, auth: cast.owner.token })).status,
    ).toBe(201);
    await reached;
    await barrier(blindSocket);
    expect(heardByBlind).toEqual([]);
  });

  it('deletes an empty column, but not one whose tasks the answer would show it', async () => {
    const blind = await createKey(node.url, cast.org, ['tasks:write'], { name: 'blind' });
    const bot = await connect(node.url, { apiKey: blind.key });
    const {
      project: board,
      columns: [full, destination, empty],
    } = await createProject(node.url, cast.org, 'Confidential');
    const owner = await connect(node.url, { token: cast.owner.token });
    await ok(owner, 'task:create', { projectId: board.id, columnId: full!.id, title: 'Salary of Bob', description: 'confidential' });
    const before = await orgRows(db, cast.org.id);

    const refused = await request(bot, 'column:delete', { columnId: full!.id, moveTasksTo: destination!.id });
    expect(refused).toEqual({ ok: false, error: { code: 'FORBIDDEN', message: expect.stringContaining('lacks boards:read') } });
    expect(JSON.stringify(refused)).not.toContain('Salary');
    expect(await orgRows(db, cast.org.id)).toEqual(before);

    const deleted = await ok(bot, 'column:delete', { columnId: empty!.id });
    expect(deleted.event).toMatchObject({ type: 'column.deleted', data: { column: { id: empty!.id }, tasks: [] } });
    // A key that reads the board is shown what its deletion moved.
    const reader = await connect(node.url, { apiKey: writeKey.key });
    const moved = await ok(reader, 'column:delete', { columnId: full!.id, moveTasksTo: destination!.id });
    expect(moved.event.data.tasks.map((task: { title: string }) => task.title)).toEqual(['Salary of Bob']);
  });

  it('is still told when its org is deleted, and closed', async () => {
    const doomed = await createOrg(node.url, cast.outsider);
    const blind = await createKey(node.url, doomed, ['tasks:write'], { name: 'blind' });
    const blindSocket = await connect(node.url, { apiKey: blind.key });
    const told = nextEvent(blindSocket, 'access:revoked');
    const closed = new Promise<string>((resolve) => blindSocket.once('disconnect', (reason) => resolve(reason)));
    expect((await call(node.url, 'DELETE', `/orgs/${doomed.slug}`, { auth: cast.outsider.token })).status).toBe(204);
    expect(await told).toEqual({ orgId: doomed.id, reason: 'org_deleted' });
    expect(await closed).toBe('io server disconnect');
  });
});

describe('a key with tasks:write', () => {
  it('creates tasks over the socket and HTTP, and the events name the bot as actor', async () => {
    const bot = await connect(node.url, { apiKey: writeKey.key });
    const watcher = await connect(node.url, { token: cast.viewer.token });
    await ok(bot, 'board:join', { projectId: project.id });
    await ok(watcher, 'board:join', { projectId: project.id });
    const actor = { kind: 'bot', id: writeKey.apiKey.id, name: 'writer' };

    const overSocket = nextEvent(watcher, 'board:event', (e) => e.type === 'task.created' && e.data.task.title === 'from the bot socket');
    const created = await ok(bot, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'from the bot socket' });
    expect(created.event.actor).toEqual(actor);
    expect((await overSocket).actor).toEqual(actor);

    const overHttp = nextEvent(watcher, 'board:event', (e) => e.type === 'task.created' && e.data.task.title === 'from the bot over HTTP');
    const answer = await call(node.url, 'POST', `/orgs/${cast.org.slug}/projects/${project.id}/tasks`, {
      body: { columnId: columns[0]!.id, title: 'from the bot over HTTP' },
      auth: writeKey.key,
    });
    expect(answer.status).toBe(201);
    expect(answer.body.event.actor).toEqual(actor);
    expect((await overHttp).actor).toEqual(actor);

    const rows = await db.query('select title from tasks where id = any($1) order by title', [[created.task.id, answer.body.task.id]]);
    expect(rows).toEqual([{ title: 'from the bot over HTTP' }, { title: 'from the bot socket' }]);
    const events = await db.query<{ actor: unknown }>('select actor from board_events where project_id = $1 and seq = any($2)', [
      project.id,
      [created.event.seq, answer.body.event.seq],
    ]);
    expect(events).toEqual([{ actor }, { actor }]);
  });

  it('cannot reach another org over HTTP (403) or the socket (NOT_FOUND)', async () => {
    const bot = await connect(node.url, { apiKey: writeKey.key });
    const theirs = await call(node.url, 'POST', `/orgs/${cast.otherOrg.slug}/projects/${otherProject.id}/tasks`, {
      body: { columnId: otherColumns[0]!.id, title: 'theirs' },
      auth: cast.otherAdmin.token,
    });
    expect(theirs.status).toBe(201);
    const before = await orgRows(db, cast.otherOrg.id);
    for (const [method, path, body] of [
      ['GET', `/orgs/${cast.otherOrg.slug}`, undefined],
      ['GET', `/orgs/${cast.otherOrg.slug}/projects`, undefined],
      ['GET', `/orgs/${cast.otherOrg.slug}/members`, undefined],
      ['POST', `/orgs/${cast.otherOrg.slug}/projects/${otherProject.id}/tasks`, { columnId: otherColumns[0]!.id, title: 'intrusion' }],
    ] as const) {
      const answer = await call(node.url, method, path, { body, auth: writeKey.key });
      expect({ path, status: answer.status }).toEqual({ path, status: 403 });
    }
    for (const [event, payload] of [
      ['board:join', { projectId: otherProject.id }],
      ['task:create', { projectId: otherProject.id, columnId: otherColumns[0]!.id, title: 'intrusion' }],
      ['task:update', { taskId: theirs.body.task.id, patch: { title: 'intrusion' } }],
    ] as const) {
      expect(await request(bot, event, payload)).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    }
    // Its own org's slug with the other org's project: not found there.
    const crossed = await call(node.url, 'GET', `/orgs/${cast.org.slug}/projects/${otherProject.id}`, { auth: writeKey.key });
    expect(crossed.status).toBe(404);
    expect(await orgRows(db, cast.otherOrg.id)).toEqual(before);
  });

  it('is refused on the routes that only people may use', async () => {
    const orgCount = async () => (await db.query<{ n: number }>('select count(*)::int as n from organizations'))[0]!.n;
    const orgsBefore = await orgCount();
    const everything = await createKey(node.url, cast.org, ['boards:read', 'tasks:write', 'projects:write']);
    await expectAllRefused(db, cast.org.id, [{ who: 'bot with every permission', auth: everything.key }], async (auth) => {
      for (const [method, path, body] of [
        ['GET', '/me', undefined],
        ['POST', '/auth/refresh', undefined],
        ['POST', '/orgs', { name: 'Bot org' }],
        ['POST', `/orgs/${cast.org.slug}/invites`, { email: 'bot-invited@example.test', role: 'member' }],
        ['GET', `/orgs/${cast.org.slug}/invites`, undefined],
        ['POST', `/orgs/${cast.org.slug}/api-keys`, { name: 'child', permissions: ['boards:read'] }],
        ['GET', `/orgs/${cast.org.slug}/api-keys`, undefined],
        ['DELETE', `/orgs/${cast.org.slug}/api-keys/${readKey.apiKey.id}`, undefined],
        ['PATCH', `/orgs/${cast.org.slug}/members/${cast.member.user.id}`, { role: 'viewer' }],
        ['DELETE', `/orgs/${cast.org.slug}/members/${cast.member.user.id}`, undefined],
        ['PATCH', `/orgs/${cast.org.slug}`, { name: 'Bot rename' }],
        ['GET', `/orgs/${cast.org.slug}/audit-log`, undefined],
      ] as const) {
        const answer = await call(node.url, method, path, { body, auth });
        if (answer.status !== 403) return { ...answer, body: { error: { code: `${method} ${path}: ${answer.status}` } } };
      }
      return { status: 403, body: { error: { code: 'FORBIDDEN' } } };
    });
    expect(await orgCount()).toBe(orgsBefore);
  });
});

describe('a key that is not valid', () => {
  it('is refused (401, connect_error UNAUTHORIZED) when tampered, unknown, malformed, revoked or expired', async () => {
    const tampered = writeKey.key.slice(0, -1) + (writeKey.key.endsWith('A') ? 'B' : 'A');
    const unknownPrefix = writeKey.key.replace(/^tfk_[A-Za-z0-9]{12}_/, 'tfk_ZZZZZZZZZZZZ_');
    await expectDead(tampered);
    await expectDead(unknownPrefix);
    await expectDead('tfk_short_secret');
    await expectDead(`${writeKey.key}x`.replace('tfk_', 'tfx_'));

    const revoked = await createKey(node.url, cast.org, ['boards:read']);
    expect((await call(node.url, 'DELETE', keys(`/${revoked.apiKey.id}`), { auth: cast.admin.token })).status).toBe(204);
    await expectDead(revoked.key);

    const expired = await createKey(node.url, cast.org, ['boards:read']);
    expect((await call(node.url, 'GET', `/orgs/${cast.org.slug}/projects`, { auth: expired.key })).status).toBe(200);
    await db.query(`update api_keys set expires_at = now() - interval '1 second' where id = $1`, [expired.apiKey.id]);
    await expectDead(expired.key);
  });

  it('is refused at the socket handshake beside a token: a handshake carries one credential, whichever is bad', async () => {
    // Sent together, one would be used and the other silently ignored: a bad or expired token
    // would pass on a good key's strength, and a person's client would act as the bot unawares.
    for (const auth of [
      { token: 'not a token', apiKey: writeKey.key },
      { token: cast.member.token, apiKey: writeKey.key },
      { token: cast.member.token, apiKey: 'tfk_short_secret' },
    ])
      await expect(connect(node.url, auth)).rejects.toThrow('UNAUTHORIZED');
    // Either alone still connects, beside the other left null.
    await connect(node.url, { apiKey: writeKey.key, token: null });
    await connect(node.url, { token: cast.member.token, apiKey: null });
  });

  it('stops working when its expiresAt passes, and its live socket is told and closed', async () => {
    const soon = await createKey(node.url, cast.org, ['boards:read'], { expiresAt: new Date(Date.now() + 3000).toISOString() });
    expect(soon.apiKey.expiresAt).not.toBeNull();
    const socket = await connect(node.url, { apiKey: soon.key });
    await ok(socket, 'board:join', { projectId: project.id });
    const told = nextEvent(socket, 'access:revoked', () => true, 10_000);
    const closed = new Promise<string>((resolve) => socket.once('disconnect', (reason) => resolve(reason)));
    expect(await told).toMatchObject({ reason: 'token_expired' });
    await closed;
    await eventually(async () => {
      expect((await call(node.url, 'GET', `/orgs/${cast.org.slug}/projects`, { auth: soon.key })).status).toBe(401);
    }, 5000);
    await expectDead(soon.key);
  });

  it('is told token_expired, not key_revoked, when an event of its socket is the first to find it expired', async () => {
    const lapsing = await createKey(node.url, cast.org, ['boards:read', 'tasks:write'], {
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
    });
    const bot = await connect(node.url, { apiKey: lapsing.key });
    const told = nextEvent(bot, 'access:revoked');
    const closed = new Promise<string>((resolve) => bot.once('disconnect', (reason) => resolve(reason)));
    // As in the second after its expiry, before the node's expiry timer (which has it in an hour here) ends the socket.
    await db.query("update api_keys set expires_at = now() - interval '1 second' where id = $1", [lapsing.apiKey.id]);
    const answer = await request(bot, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'refused, expired' });
    expect(answer).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED', message: 'the API key has expired' } });
    expect(await told).toEqual({ orgId: null, reason: 'token_expired' });
    expect(await closed).toBe('io server disconnect');
    expect(await db.query("select 1 from tasks where title = 'refused, expired'")).toEqual([]);
  });
});

describe('revoking a key', () => {
  it("sends access:revoked (key_revoked) to the bot's socket, disconnects it, and the key fails at once", async () => {
    const revokedKey = await createKey(node.url, cast.org, ['boards:read', 'tasks:write']);
    const bot = await connect(node.url, { apiKey: revokedKey.key });
    await ok(bot, 'board:join', { projectId: project.id });
    const bystander = await connect(node.url, { apiKey: writeKey.key });
    await ok(bystander, 'board:join', { projectId: project.id });
    const bystanderSeen = recordAll(bystander);

    const told = nextEvent(bot, 'access:revoked');
    const closed = new Promise<string>((resolve) => bot.once('disconnect', (reason) => resolve(reason)));
    const answer = await call(node.url, 'DELETE', keys(`/${revokedKey.apiKey.id}`), { auth: cast.admin.token });
    expect(answer.status).toBe(204);
    const httpAfter = await call(node.url, 'GET', `/orgs/${cast.org.slug}/projects`, { auth: revokedKey.key });
    expect(httpAfter.status).toBe(401);
    expect(await told).toEqual({ orgId: cast.org.id, reason: 'key_revoked' });
    expect(await closed).toBe('io server disconnect');
    expect((await keyRow(revokedKey.apiKey.id)).revoked_at).not.toBeNull();
    await expectDead(revokedKey.key);
    const listed = await call(node.url, 'GET', keys(), { auth: cast.admin.token });
    expect(listed.body.find((k: { id: string }) => k.id === revokedKey.apiKey.id).revokedAt).not.toBeNull();

    await barrier(bystander);
    // Presence may change as the bots come and go; nothing else reaches the other bot.
    expect(bystanderSeen.filter((r) => r.event !== 'presence:changed')).toEqual([]);
    expect((await request(bystander, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'still here' })).ok).toBe(
      true,
    );
  });

  it('logs one revocation when several come at once, and answers each 204', async () => {
    const revokedKey = await createKey(node.url, cast.org, ['boards:read']);
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => call(node.url, 'DELETE', keys(`/${revokedKey.apiKey.id}`), { auth: cast.admin.token })),
    );
    expect(answers.map((answer) => answer.status)).toEqual(Array(6).fill(204));
    const logged = await db.query(`select 1 from audit_logs where action = 'api_key.revoked' and entity_id = $1`, [revokedKey.apiKey.id]);
    expect(logged).toHaveLength(1);
  });

  it('disconnects the live socket of a key named in upper case, as PostgreSQL compares ids', async () => {
    const revokedKey = await createKey(node.url, cast.org, ['boards:read']);
    const bot = await connect(node.url, { apiKey: revokedKey.key });
    await ok(bot, 'board:join', { projectId: project.id.toUpperCase() }); // its room is the board's, however spelt
    const told = nextEvent(bot, 'access:revoked');
    const closed = new Promise<string>((resolve) => bot.once('disconnect', (reason) => resolve(reason)));
    const answer = await call(node.url, 'DELETE', keys(`/${revokedKey.apiKey.id.toUpperCase()}`), { auth: cast.admin.token });
    expect(answer.status).toBe(204);
    expect(await told).toEqual({ orgId: cast.org.id, reason: 'key_revoked' });
    expect(await closed).toBe('io server disconnect');
  });

  it('answers the event that finds the key revoked before closing its socket, when the kick never reached it', async () => {
    const revokedKey = await createKey(node.url, cast.org, ['boards:read', 'tasks:write']);
    const bot = await connect(node.url, { apiKey: revokedKey.key });
    const told = nextEvent(bot, 'access:revoked');
    const closed = new Promise<string>((resolve) => bot.once('disconnect', (reason) => resolve(reason)));
    // Revoked where no kick is sent (another node's, lost in a Redis outage).
    await db.query('update api_keys set revoked_at = now() where id = $1', [revokedKey.apiKey.id]);
    const answer = await request(bot, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'refused' });
    expect(answer).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(await told).toEqual({ orgId: cast.org.id, reason: 'key_revoked' });
    expect(await closed).toBe('io server disconnect');
  });

  it('answers every event under way before closing the socket, changes that committed included', async () => {
    const revokedKey = await createKey(node.url, cast.org, ['boards:read', 'tasks:write']);
    const bot = await connect(node.url, { apiKey: revokedKey.key });
    const closed = new Promise<string>((resolve) => bot.once('disconnect', (reason) => resolve(reason)));
    // The board's row held, so the bot's creates are under way when its key is revoked.
    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    const title = (i: number) => `under way ${revokedKey.apiKey.id} ${i}`;
    const answers = Array.from({ length: 4 }, (_, i) =>
      request(bot, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: title(i), clientMutationId: title(i) }),
    );
    await eventually(async () => {
      const [waiting] = await db.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`,
        [db.name],
      );
      expect(waiting!.n).toBeGreaterThan(0);
    });
    expect((await call(node.url, 'DELETE', keys(`/${revokedKey.apiKey.id}`), { auth: cast.admin.token })).status).toBe(204);
    await release();

    const answered = await Promise.all(answers); // each answered, or `request` throws
    expect(await closed).toBe('io server disconnect');
    const created = await db.query<{ title: string }>('select title from tasks where project_id = $1 and title like $2', [
      project.id,
      `under way ${revokedKey.apiKey.id} %`,
    ]);
    const acked = answered.flatMap((answer) => (answer.ok ? [(answer.data as { task: { title: string } }).task.title] : []));
    expect(acked.sort()).toEqual(created.map((row) => row.title).sort());
    for (const answer of answered) if (!answer.ok) expect(answer.error.code).toBe('UNAUTHORIZED');
  });

  it("answers 404 for another org's key named through this org", async () => {
    const foreign = await createKey(node.url, cast.otherOrg, ['boards:read']);
    const answer = await call(node.url, 'DELETE', keys(`/${foreign.apiKey.id}`), { auth: cast.owner.token });
    expect(answer.status).toBe(404);
    expect((await keyRow(foreign.apiKey.id)).revoked_at).toBeNull();
    expect((await call(node.url, 'GET', `/orgs/${cast.otherOrg.slug}/projects`, { auth: foreign.key })).status).toBe(200);
  });
});

describe('last_used_at', () => {
  it('is set on first use and not rewritten within a minute', async () => {
    const fresh = await createKey(node.url, cast.org, ['boards:read']);
    expect((await keyRow(fresh.apiKey.id)).last_used_at).toBeNull();
    expect((await call(node.url, 'GET', `/orgs/${cast.org.slug}/projects`, { auth: fresh.key })).status).toBe(200);
    const first = (await keyRow(fresh.apiKey.id)).last_used_at;
    expect(first).toBeInstanceOf(Date);
    expect(Math.abs(first!.getTime() - Date.now())).toBeLessThan(60_000);

    expect((await call(node.url, 'GET', `/orgs/${cast.org.slug}/projects`, { auth: fresh.key })).status).toBe(200);
    await connect(node.url, { apiKey: fresh.key });
    expect((await keyRow(fresh.apiKey.id)).last_used_at).toEqual(first);
    const listed = await call(node.url, 'GET', keys(), { auth: cast.admin.token });
    expect(listed.body.find((k: { id: string }) => k.id === fresh.apiKey.id).lastUsedAt).toBe(first!.toISOString());

    // Once the last write is more than a minute old, the next use writes it again.
    await db.query(`update api_keys set last_used_at = now() - interval '2 minutes' where id = $1`, [fresh.apiKey.id]);
    const old = (await keyRow(fresh.apiKey.id)).last_used_at!;
    expect((await call(node.url, 'GET', `/orgs/${cast.org.slug}/projects`, { auth: fresh.key })).status).toBe(200);
    expect((await keyRow(fresh.apiKey.id)).last_used_at!.getTime()).toBeGreaterThan(old.getTime());
  });
});

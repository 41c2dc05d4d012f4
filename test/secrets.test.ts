import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, type TaskFlow } from '../server/app.js';
import { loadConfig } from '../server/config.js';
import type { Mail } from '../server/mail/mailer.js';
import type { BoardEventJson, TaskEventData } from '../shared/wire.js';
import { api, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { TEST_JWT_SECRET } from './support/server.js';
import { closeAllSockets, connect, nextEvent, ok, request } from './support/sockets.js';
import { findSecretLeaks, type WireRecord, wireRecords } from './support/wire-recorder.js';

// DESIGN §3: password_hash, key_hash and token_hash never appear in any HTTP answer or socket
// payload. This suite drives every route and event that touches them, with the helpers that
// record what they receive, then searches the recordings: for the forms of those fields (which
// `no-secrets.setup.ts` also does after every test file), and for the very values the database holds.

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const PASSWORD = 'correct horse battery';

let db: TestDatabase;
let server: TaskFlow;
let url: string;
/** Mail the server sends, kept instead of logged: the invitation link (and its token) is only there. */
const mails: Mail[] = [];
const rootEmail = `root-${randomUUID().slice(0, 8)}@example.test`;

beforeAll(async () => {
  db = await createTestDatabase();
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    SUPER_ADMIN_EMAILS: rootEmail,
  });
  server = await buildServer(config, { mailer: { send: async (mail) => void mails.push(mail) } });
  await server.migrate();
  url = await server.listen();
});

afterAll(async () => {
  closeAllSockets();
  await server?.close();
  await db?.drop();
});

/** Asserts the HTTP status and answers the body. */
async function call(status: number, method: string, path: string, body?: unknown, token?: string): Promise<any> {
  const answer = await api(url, method, path, body, token);
  expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBe(status);
  return answer.body;
}

describe('the secret walk', () => {
  it('the detector fires on planted samples of every form, so a clean walk means something', () => {
    const key = `tfk_AbCdEfGhIjKl_${'x'.repeat(43)}`;
    const token = 'y'.repeat(43);
    const planted = (text: string): WireRecord[] => [{ source: 'planted', text }];
    expect(findSecretLeaks(planted('{"id":"1","name":"bot","prefix":"AbCdEfGhIjKl"}'))).toEqual([]);
    expect(findSecretLeaks(planted(`{"id":"1","keyHash":"${sha256('anything')}"}`))).toMatchObject([{ form: 'hidden field name' }]);
    expect(findSecretLeaks(planted('[{"user":{"password_hash":null}}]'))).toMatchObject([{ form: 'hidden field name' }]);
    expect(findSecretLeaks(planted('{"details":"{\\"tokenHash\\":\\"abc\\"}"}'))).toMatchObject([{ form: 'hidden field name' }]);
    expect(findSecretLeaks(planted('{"user":{"note":"$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"}}'))).toMatchObject([
      { form: 'argon2 hash' },
    ]);
    // The hash of a key seen elsewhere in the recordings, under a field name that hides nothing.
    const keyAndHash = [
      { source: 'create', text: `{"apiKey":{"id":"1"},"key":"${key}"}` },
      { source: 'list', text: `[{"id":"1","fingerprint":"${sha256(key)}"}]` },
    ];
    expect(findSecretLeaks(keyAndHash)).toMatchObject([{ source: 'list', form: 'hash of a secret' }]);
    expect(findSecretLeaks(keyAndHash.slice(0, 1))).toEqual([]);
    // The hash of an invitation token: from an accept link in the recordings, or known by other means.
    expect(
      findSecretLeaks([
        { source: 'link', text: `{"link":"https://x.test/invite?token=${token}&email=a"}` },
        { source: 'list', text: `{"id":"${sha256(token).toUpperCase()}"}` },
      ]),
    ).toMatchObject([{ source: 'list', form: 'hash of a secret' }]);
    expect(findSecretLeaks(planted(`{"id":"${sha256(token)}"}`), [token])).toMatchObject([{ form: 'hash of a secret' }]);
    expect(findSecretLeaks(planted(`{"id":"${sha256(token)}"}`))).toEqual([]);
  });

  it('finds no hidden field in anything the server sent through registration, orgs, invites, members, keys, audit and boards', async () => {
    const recordedBefore = wireRecords().length;
    // Identities: register (one of them a super admin), log in, refresh, a failed login, /me.
    const root = (await call(201, 'POST', '/auth/register', { email: rootEmail, password: PASSWORD, name: 'root' })) as TestUser;
    const alice = await registerUser(url, 'alice');
    const bob = await registerUser(url, 'bob');
    const login = await call(200, 'POST', '/auth/login', { email: alice.email, password: PASSWORD });
    await call(401, 'POST', '/auth/login', { email: alice.email, password: 'wrong horse battery' });
    await call(409, 'POST', '/auth/register', { email: alice.email, password: PASSWORD, name: 'again' });
    await call(200, 'POST', '/auth/refresh', undefined, login.token);
    await call(200, 'GET', '/me', undefined, alice.token);

    // An org, its settings, members, invitations (an account: 201; no account: 202, then registration).
    const slug = `org-${randomUUID().slice(0, 8)}`;
    const created = await call(201, 'POST', '/orgs', { name: 'Secret walk', slug }, alice.token);
    const org: TestOrg = { slug, id: created.org.id, owner: alice };
    await call(200, 'GET', `/orgs/${slug}`, undefined, alice.token);
    await call(200, 'PATCH', `/orgs/${slug}`, { settings: { theme: 'dark' }, billingEmail: 'billing@example.test' }, alice.token);
    await call(201, 'POST', `/orgs/${slug}/invites`, { email: bob.email, role: 'member' }, alice.token);
    await call(409, 'POST', `/orgs/${slug}/invites`, { email: bob.email, role: 'member' }, alice.token);
    const newcomerEmail = `newcomer-${randomUUID().slice(0, 8)}@example.test`;
    const pending = await call(202, 'POST', `/orgs/${slug}/invites`, { email: newcomerEmail, role: 'member' }, alice.token);
    const dropped = await call(202, 'POST', `/orgs/${slug}/invites`, { email: 'dropped@example.test', role: 'viewer' }, alice.token);
    await call(200, 'GET', `/orgs/${slug}/invites`, undefined, alice.token);
    await call(204, 'DELETE', `/orgs/${slug}/invites/${dropped.invite.id}`, undefined, alice.token);
    const inviteTokens = mails.flatMap((mail) => [...mail.text.matchAll(/#token=([A-Za-z0-9_-]+)/g)].map((m) => m[1]!));
    expect(inviteTokens).toHaveLength(2);
    const newcomer = await call(201, 'POST', '/auth/register', { email: newcomerEmail, password: PASSWORD, name: 'newcomer' });
    expect((await call(200, 'GET', '/me', undefined, newcomer.token)).memberships).toMatchObject([{ org: { id: org.id } }]);
    await call(200, 'PATCH', `/orgs/${slug}/members/${newcomer.user.id}`, { role: 'viewer' }, alice.token);
    await call(200, 'GET', `/orgs/${slug}/members`, undefined, bob.token);

    // API keys: created (the key shown this once), listed, one revoked.
    const permissions = ['boards:read', 'tasks:write', 'projects:write'];
    const botKey = await call(201, 'POST', `/orgs/${slug}/api-keys`, { name: 'walker', permissions }, alice.token);
    const doomed = await call(201, 'POST', `/orgs/${slug}/api-keys`, { name: 'doomed', permissions: ['boards:read'] }, alice.token);
    await call(200, 'GET', `/orgs/${slug}/api-keys`, undefined, alice.token);

    // Boards, by a user and a bot, over HTTP and sockets, with a watcher.
    const { project, columns } = await createProject(url, org, 'Walk');
    await call(200, 'GET', `/orgs/${slug}/projects`, undefined, bob.token);
    await call(200, 'GET', `/orgs/${slug}/projects/${project.id}`, undefined, botKey.key);
    const aliceSocket = await connect(url, { token: alice.token });
    const bobSocket = await connect(url, { token: bob.token });
    const botSocket = await connect(url, { apiKey: botKey.key });
    const doomedSocket = await connect(url, { apiKey: doomed.key });
    for (const socket of [aliceSocket, bobSocket, botSocket, doomedSocket]) await ok(socket, 'board:join', { projectId: project.id });
    const seen = (title: string) =>
      nextEvent<BoardEventJson<TaskEventData>>(bobSocket, 'board:event', (e) => (e.data as TaskEventData)?.task?.title === title);
    const [byAlice] = await Promise.all([
      ok(aliceSocket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'by alice' }),
      seen('by alice'),
    ]);
    await ok(aliceSocket, 'task:update', { taskId: byAlice.task.id, patch: { priority: 3, assigneeId: bob.user.id } });
    await ok(aliceSocket, 'task:move', { taskId: byAlice.task.id, columnId: columns[2]!.id });
    await Promise.all([
      ok(aliceSocket, 'presence:update', { projectId: project.id, editingTaskId: byAlice.task.id }),
      nextEvent(bobSocket, 'presence:changed', (p) =>
        p.viewers.some((v: { editingTaskId?: string }) => v.editingTaskId === byAlice.task.id),
      ),
    ]);
    await Promise.all([
      call(201, 'POST', `/orgs/${slug}/projects`, { name: 'Second walk' }, botKey.key),
      nextEvent(bobSocket, 'org:event', (e) => e.type === 'project.created'),
    ]);
    const column = await ok(aliceSocket, 'column:create', { projectId: project.id, name: 'Review' });
    await ok(aliceSocket, 'column:update', { columnId: column.column.id, patch: { name: 'Checked' } });
    const [byBot] = await Promise.all([
      ok(botSocket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'by the bot' }),
      seen('by the bot'),
    ]);
    await ok(botSocket, 'task:update', { taskId: byBot.task.id, patch: { description: 'bots write too' } });
    await ok(botSocket, 'task:delete', { taskId: byBot.task.id });
    expect(await request(doomedSocket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'no' })).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    const viaHttp = await call(
      201,
      'POST',
      `/orgs/${slug}/projects/${project.id}/tasks`,
      { columnId: columns[1]!.id, title: 'http bot' },
      botKey.key,
    );
    await call(200, 'PATCH', `/orgs/${slug}/tasks/${viaHttp.task.id}`, { title: 'http bot, renamed' }, botKey.key);
    await call(200, 'POST', `/orgs/${slug}/tasks/${viaHttp.task.id}/move`, { columnId: columns[0]!.id }, alice.token);
    await call(204, 'DELETE', `/orgs/${slug}/tasks/${viaHttp.task.id}`, undefined, alice.token);
    await call(200, 'PATCH', `/orgs/${slug}/projects/${project.id}`, { description: 'walked' }, alice.token);

    // Revocations reach live sockets: a revoked key, a removed member.
    const keyKick = nextEvent(doomedSocket, 'access:revoked');
    await call(204, 'DELETE', `/orgs/${slug}/api-keys/${doomed.apiKey.id}`, undefined, alice.token);
    await keyKick;
    const memberKick = nextEvent(bobSocket, 'access:revoked');
    await call(204, 'DELETE', `/orgs/${slug}/members/${bob.user.id}`, undefined, alice.token);
    await memberKick;
    await expect(connect(url, { apiKey: doomed.key })).rejects.toThrow(/^UNAUTHORIZED$/);
    await call(200, 'GET', `/orgs/${slug}/api-keys`, undefined, alice.token);

    // The audit log, filtered and paged; the super admin's view.
    const page = await call(200, 'GET', `/orgs/${slug}/audit-log?limit=3`, undefined, alice.token);
    await call(200, 'GET', `/orgs/${slug}/audit-log?limit=3&cursor=${page.nextCursor}`, undefined, alice.token);
    await call(200, 'GET', `/orgs/${slug}/audit-log?action=api_key.created`, undefined, alice.token);
    await call(200, 'GET', '/admin/tenants', undefined, root.token);

    // The walk was recorded: HTTP answers, socket events and acks, and the key's one showing.
    const records = wireRecords().slice(recordedBefore);
    const sources = new Set(records.map((r) => r.source.replace(/ → \d+$/, '').replace(/[0-9a-f-]{36}/g, ':id')));
    for (const source of [
      'HTTP POST /auth/register',
      'HTTP GET /me',
      `HTTP POST /orgs/${slug}/api-keys`,
      `HTTP GET /orgs/${slug}/api-keys`,
      `HTTP GET /orgs/${slug}/invites`,
      `HTTP GET /orgs/${slug}/members`,
      'HTTP GET /admin/tenants',
      'socket board:event',
      'socket presence:changed',
      'socket org:event',
      'socket access:revoked',
      'ack board:join',
      'ack task:create',
    ])
      expect(sources, source).toContain(source);
    expect(records.filter((r) => r.text.includes(botKey.key))).toHaveLength(1);

    // The database holds these forms (so the search below looks for the right thing) ...
    const users = await db.query<{ password_hash: string }>('select password_hash from users');
    const keys = await db.query<{ key_hash: string }>('select key_hash from api_keys');
    const invites = await db.query<{ token_hash: string }>('select token_hash from invites');
    expect(users.length).toBeGreaterThanOrEqual(4);
    for (const { password_hash } of users) expect(password_hash).toMatch(/^\$argon2id\$/);
    expect(keys.map((k) => k.key_hash).sort()).toEqual([sha256(botKey.key), sha256(doomed.key)].sort());
    expect(invites.map((i) => i.token_hash)).toEqual([sha256(inviteTokens[0]!)]);
    expect(pending.invite).not.toHaveProperty('tokenHash');

    // ... and none of them, in any form, is in what the server sent.
    expect(findSecretLeaks(records, inviteTokens)).toEqual([]);
    const stored = [...users.map((u) => u.password_hash), ...keys.map((k) => k.key_hash), ...invites.map((i) => i.token_hash)];
    const found = records.flatMap((r) => stored.filter((value) => r.text.includes(value)).map(() => r.source));
    expect(found, 'stored hashes in recorded answers').toEqual([]);
  });
});

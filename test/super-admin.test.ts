import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { call, type Cast, castOrg, createKey, type CreatedKey } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';

const ROOT_EMAIL = 'root@example.test';

let db: TestDatabase;
let node: RunningServer;
let cast: Cast;
let root: TestUser;
let flagged: TestUser;
let bot: CreatedKey;

beforeAll(async () => {
  db = await createTestDatabase();
  // Listed in another case and among others: the list is matched without regard to case.
  node = await startServer({ DATABASE_URL: db.url, SUPER_ADMIN_EMAILS: `ops@example.test, ${ROOT_EMAIL.toUpperCase()}` });
  cast = await castOrg(node.url);
  await createProject(node.url, cast.org, 'One');
  await createProject(node.url, cast.org, 'Two');
  await createProject(node.url, cast.otherOrg, 'Three');
  await createOrg(node.url, cast.outsider); // an org with one member and no project
  const registered = await api(node.url, 'POST', '/auth/register', { email: ROOT_EMAIL, password: 'correct horse battery', name: 'root' });
  expect(registered.status).toBe(201);
  root = { ...registered.body, email: ROOT_EMAIL };
  flagged = await registerUser(node.url, 'flagged');
  await db.query('update users set is_super_admin = true where id = $1', [flagged.user.id]);
  bot = await createKey(node.url, cast.org, ['boards:read', 'tasks:write', 'projects:write']);
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

describe('GET /admin/tenants', () => {
  it('answers a super admin (by SUPER_ADMIN_EMAILS or by the user flag) every org with its plan and counts', async () => {
    await call(node.url, 'PATCH', `/orgs/${cast.otherOrg.slug}`, { body: { plan: 'enterprise' }, auth: cast.otherOrg.owner.token });
    const expected = await db.query<{ id: string; slug: string; name: string; plan: string; members: number; projects: number }>(
      `select o.id, o.slug, o.name, o.plan,
              (select count(*)::int from memberships m where m.org_id = o.id) as members,
              (select count(*)::int from projects p where p.org_id = o.id) as projects
         from organizations o`,
    );
    expect(expected.length).toBe(3);
    for (const user of [root, flagged]) {
      const answer = await call(node.url, 'GET', '/admin/tenants', { auth: user.token });
      expect(answer.status).toBe(200);
      expect(answer.body).toHaveLength(expected.length);
      for (const org of expected) {
        expect(answer.body).toContainEqual(
          expect.objectContaining({
            id: org.id,
            slug: org.slug,
            name: org.name,
            plan: org.plan,
            memberCount: org.members,
            projectCount: org.projects,
          }),
        );
      }
    }
    const byId = Object.fromEntries(
      ((await call(node.url, 'GET', '/admin/tenants', { auth: root.token })).body as any[]).map((t) => [t.id, t]),
    );
    expect(byId[cast.org.id]).toMatchObject({ memberCount: 4, projectCount: 2, plan: 'free' });
    expect(byId[cast.otherOrg.id]).toMatchObject({ memberCount: 2, projectCount: 1, plan: 'enterprise' });
  });

  it('is refused (403) to org owners and admins who are not super admins, and to bots', async () => {
    for (const [who, auth] of [
      ['owner', cast.owner.token],
      ['admin', cast.admin.token],
      ["another org's owner", cast.otherOrg.owner.token],
      ['a user of no org', cast.outsider.token],
      ['bot with every permission', bot.key],
    ] as const) {
      const answer = await call(node.url, 'GET', '/admin/tenants', { auth });
      expect({ who, status: answer.status, code: answer.body?.error?.code }).toEqual({ who, status: 403, code: 'FORBIDDEN' });
    }
  });

  it('is refused (401) without a credential, or with a bad one', async () => {
    for (const auth of [undefined, 'not-a-token', `${root.token}x`]) {
      const answer = await call(node.url, 'GET', '/admin/tenants', { auth });
      expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    }
  });

  it('follows SUPER_ADMIN_EMAILS as it is now: a node started without the address refuses it, the flag stays', async () => {
    expect(await db.query('select is_super_admin from users where id = $1', [root.user.id])).toEqual([{ is_super_admin: false }]);
    const unlisted = await startServer({ DATABASE_URL: db.url, SUPER_ADMIN_EMAILS: 'ops@example.test' });
    try {
      const answer = await call(unlisted.url, 'GET', '/admin/tenants', { auth: root.token });
      expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 403, code: 'FORBIDDEN' });
      expect((await call(unlisted.url, 'GET', '/admin/tenants', { auth: flagged.token })).status).toBe(200);
    } finally {
      await unlisted.close();
    }
  });

  it('is a user flag, not an org role: a super admin is still an outsider to orgs they do not belong to', async () => {
    expect((await call(node.url, 'GET', `/orgs/${cast.org.slug}`, { auth: root.token })).status).toBe(403);
    expect((await call(node.url, 'GET', `/orgs/${cast.org.slug}/members`, { auth: flagged.token })).status).toBe(403);
  });
});

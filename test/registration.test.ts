import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createOrg, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';

// REGISTRATION=invited: a team's server where only invited addresses (and the super admins of
// SUPER_ADMIN_EMAILS, who set it up) may make an account.
let db: TestDatabase;
let node: RunningServer;
let root: TestUser;
let org: TestOrg;

const PASSWORD = 'correct horse battery';
const register = (email: string) => api(node.url, 'POST', '/auth/register', { email, password: PASSWORD, name: email.split('@')[0] });
const accounts = async (email: string) => db.query('select id from users where email = $1', [email]);

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url, REGISTRATION: 'invited', SUPER_ADMIN_EMAILS: 'root@example.test' });
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

describe('registration by invitation', () => {
  it('lets a super admin address make the first account', async () => {
    const answer = await register('Root@Example.test');
    expect(answer.status).toBe(201);
    root = { ...answer.body, email: 'root@example.test' };
    org = await createOrg(node.url, root);
  });

  it('refuses anyone else with FORBIDDEN, and makes no account', async () => {
    const answer = await register('stranger@example.test');
    expect(answer.status).toBe(403);
    expect(answer.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('invitation') });
    expect(await accounts('stranger@example.test')).toEqual([]);
  });

  it('lets an invited address make its account, which joins the org that invited it', async () => {
    const invited = await api(
      node.url,
      'POST',
      `/orgs/${org.slug}/invites`,
      { email: 'newcomer@example.test', role: 'member' },
      root.token,
    );
    expect(invited.status).toBe(202);
    const answer = await register('newcomer@example.test');
    expect(answer.status).toBe(201);
    const me = await api(node.url, 'GET', '/me', undefined, answer.body.token);
    expect(me.body.memberships).toEqual([expect.objectContaining({ org: expect.objectContaining({ id: org.id }), role: 'member' })]);
  });

  it('refuses an address whose invitation was revoked', async () => {
    const invited = await api(node.url, 'POST', `/orgs/${org.slug}/invites`, { email: 'revoked@example.test', role: 'viewer' }, root.token);
    const revoked = await api(node.url, 'DELETE', `/orgs/${org.slug}/invites/${invited.body.invite.id}`, undefined, root.token);
    expect(revoked.status).toBe(204);
    expect((await register('revoked@example.test')).status).toBe(403);
    expect(await accounts('revoked@example.test')).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mail } from '../server/mail/mailer.js';
import { api, createOrg, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { captureMail } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';

// REGISTRATION=invited: a team's server where an account is made only from an invitation's link
// (its token shows the registrant reads the invited mailbox), or, for the very first account, by
// an address of SUPER_ADMIN_EMAILS.
let db: TestDatabase;
let node: RunningServer;
let mails: Mail[];
let root: TestUser;
let org: TestOrg;

const PASSWORD = 'correct horse battery';
const register = (email: string, inviteToken?: string) =>
  api(node.url, 'POST', '/auth/register', {
    email,
    password: PASSWORD,
    name: email.split('@')[0],
    ...(inviteToken ? { inviteToken } : {}),
  });
const accounts = (email: string) => db.query('select id from users where email = $1', [email]);

/** Invites `email` to the org; answers the token of the link mailed to it. */
async function invite(email: string, role = 'member'): Promise<{ id: string; token: string }> {
  const answer = await api(node.url, 'POST', `/orgs/${org.slug}/invites`, { email, role }, root.token);
  expect(answer.status).toBe(202);
  const link = mails.filter((mail) => mail.to === email).at(-1)!.text;
  return { id: answer.body.invite.id, token: /#token=([\w-]+)/.exec(link)![1]! };
}

beforeAll(async () => {
  db = await createTestDatabase();
  const capture = captureMail();
  mails = capture.mails;
  node = await startServer(
    { DATABASE_URL: db.url, REGISTRATION: 'invited', SUPER_ADMIN_EMAILS: 'root@example.test,second-root@example.test' },
    { mailer: capture.mailer },
  );
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

describe('registration by invitation', () => {
  it('lets an address of SUPER_ADMIN_EMAILS make the first account', async () => {
    const answer = await register('Root@Example.test');
    expect(answer.status).toBe(201);
    root = { ...answer.body, email: 'root@example.test' };
    org = await createOrg(node.url, root);
  });

  it('refuses anyone else with FORBIDDEN, and makes no account, a super admin address too once there are accounts', async () => {
    for (const email of ['stranger@example.test', 'second-root@example.test']) {
      const answer = await register(email);
      expect(answer.status).toBe(403);
      expect(answer.body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringContaining('invitation') });
      expect(await accounts(email)).toEqual([]);
    }
  });

  it('answers the address of an account as any other, so a stranger cannot tell which addresses have one', async () => {
    expect(await accounts('root@example.test')).toHaveLength(1); // made by the first test
    const stranger = await register('nobody@example.test');
    for (const email of ['root@example.test', 'ROOT@example.test']) expect((await register(email)).body).toEqual(stranger.body);
  });

  it("lets an invited address register with its link's token, and joins it to the org that invited it", async () => {
    const { token } = await invite('newcomer@example.test');
    const guessed = await register('newcomer@example.test'); // knowing the address is not enough
    expect(guessed.status).toBe(403);
    // Nor does the refusal tell an outsider which org invited it.
    for (const trace of [org.id, org.slug, 'Org ']) expect(JSON.stringify(guessed.body)).not.toContain(trace);
    expect((await register('newcomer@example.test', `${token}x`)).status).toBe(403);
    expect((await register('other@example.test', token)).status).toBe(403); // the token is the address's own
    const answer = await register('newcomer@example.test', token);
    expect(answer.status).toBe(201);
    const me = await api(node.url, 'GET', '/me', undefined, answer.body.token);
    expect(me.body.memberships).toEqual([expect.objectContaining({ org: expect.objectContaining({ id: org.id }), role: 'member' })]);
  });

  it('refuses the token of an invitation that was revoked', async () => {
    const { id, token } = await invite('revoked@example.test', 'viewer');
    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/invites/${id}`, undefined, root.token)).status).toBe(204);
    expect((await register('revoked@example.test', token)).status).toBe(403);
    expect(await accounts('revoked@example.test')).toEqual([]);
  });
});

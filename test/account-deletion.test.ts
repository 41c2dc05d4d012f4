import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createKey } from './support/governance.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, nextEvent, ok } from './support/sockets.js';

// A user deletes their own account (`DELETE /me`, with its password): they leave every org, what
// identifies them is erased, their sessions end, and their address is free again. Not while they
// are an org's last owner, and never by a stolen token without the password, nor by a bot.

const PASSWORD = 'correct horse battery';
const BOSS = 'boss@example.test';
let db: TestDatabase;
let node: RunningServer;
let owner: TestUser;
let org: TestOrg;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url, SUPER_ADMIN_EMAILS: BOSS });
  owner = await registerUser(node.url, 'owner');
  org = await createOrg(node.url, owner);
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

const deleteAccount = (user: TestUser, body: unknown) => api(node.url, 'DELETE', '/me', body, user.token);
const memberIds = async (slug = org.slug) =>
  (await api<{ user: { id: string } }[]>(node.url, 'GET', `/orgs/${slug}/members`, undefined, owner.token)).body.map((m) => m.user.id);

describe('deleting an account', () => {
  it('takes its user out of every org, told as a leave, ends its sessions and frees its address, keeping its cards', async () => {
    const leaver = await registerUser(node.url, 'leaver');
    await addMember(node.url, org, leaver, 'admin');
    const otherOrg = await createOrg(node.url, owner);
    await addMember(node.url, otherOrg, leaver, 'member');
    const { project, columns } = await createProject(node.url, org, 'Handed over');
    const made = await api(
      node.url,
      'POST',
      `/orgs/${org.slug}/projects/${project.id}/tasks`,
      { columnId: columns[0]!.id, title: 'Theirs', assigneeId: leaver.user.id },
      leaver.token,
    );
    expect(made.status).toBe(201);
    const invited = await api(
      node.url,
      'POST',
      `/orgs/${org.slug}/invites`,
      { email: 'friend@example.test', role: 'member' },
      leaver.token,
    );
    expect(invited.status).toBe(202);
    const theirSocket = await connect(node.url, { token: leaver.token });
    const ownerSocket = await connect(node.url, { token: owner.token });
    const closed = new Promise((resolve) => theirSocket.once('disconnect', resolve));
    const told = nextEvent(ownerSocket, 'org:event', (event) => event.orgId === org.id && event.type === 'member.removed');

    const deleted = await deleteAccount(leaver, { password: PASSWORD });
    expect(deleted.status).toBe(204);

    expect(await memberIds()).not.toContain(leaver.user.id);
    expect(await memberIds(otherOrg.slug)).not.toContain(leaver.user.id);
    expect((await told).data).toEqual({ userId: leaver.user.id });
    await closed;
    expect((await api(node.url, 'GET', '/me', undefined, leaver.token)).status).toBe(401);
    await expect(connect(node.url, { token: leaver.token })).rejects.toThrow('UNAUTHORIZED');
    expect((await api(node.url, 'POST', '/auth/login', { email: leaver.email, password: PASSWORD })).status).toBe(401);

    // Their card stays theirs by id; the invitation they sent as admin goes with them; the log says they left.
    const board = await api(node.url, 'GET', `/orgs/${org.slug}/projects/${project.id}`, undefined, owner.token);
    expect(board.body.tasks.map((task: { title: string; assigneeId: string }) => [task.title, task.assigneeId])).toEqual([
      ['Theirs', leaver.user.id],
    ]);
    const invites = await api(node.url, 'GET', `/orgs/${org.slug}/invites`, undefined, owner.token);
    expect(invites.body).toEqual([]);
    const log = await api(node.url, 'GET', `/orgs/${org.slug}/audit-log?action=member.left`, undefined, owner.token);
    expect(log.body.entries.map((entry: { entityId: string }) => entry.entityId)).toContain(leaver.user.id);

    // What the row is called now is no address anyone can register, or sign in with.
    const [row] = await db.query<{ email: string; name: string }>('select email, name from users where id = $1', [leaver.user.id]);
    expect(row).toEqual({ email: `deleted:${leaver.user.id}`, name: 'Deleted user' });
    const squat = await api(node.url, 'POST', '/auth/register', { email: row!.email, password: PASSWORD, name: 'Squatter' });
    expect(squat.status).toBe(400);
    expect((await api(node.url, 'POST', '/auth/login', { email: row!.email, password: PASSWORD })).status).toBe(401);

    // The address makes a new account, another id, with none of the old one's orgs.
    const again = await api(node.url, 'POST', '/auth/register', { email: leaver.email, password: PASSWORD, name: 'Leaver again' });
    expect(again.status).toBe(201);
    expect(again.body.user.id).not.toBe(leaver.user.id);
    expect((await api(node.url, 'GET', '/me', undefined, again.body.token)).body.memberships).toEqual([]);
  });

  it('is refused to the last owner of an org, naming it, with nothing changed, until another owner is made', async () => {
    const founder = await registerUser(node.url, 'founder');
    const theirs = await createOrg(node.url, founder);
    await addMember(node.url, org, founder, 'member');
    const partner = await registerUser(node.url, 'partner');
    await addMember(node.url, theirs, partner, 'admin');

    const refused = await deleteAccount(founder, { password: PASSWORD });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('CONFLICT');
    expect(refused.body.error.details).toEqual({ orgs: [{ slug: theirs.slug, name: `Org ${theirs.slug}` }] });
    expect(await memberIds()).toContain(founder.user.id); // it left no org
    expect((await api(node.url, 'GET', '/me', undefined, founder.token)).status).toBe(200);

    const promoted = await api(node.url, 'PATCH', `/orgs/${theirs.slug}/members/${partner.user.id}`, { role: 'owner' }, founder.token);
    expect(promoted.status).toBe(200);
    expect((await deleteAccount(founder, { password: PASSWORD })).status).toBe(204);
    const left = await api<{ user: { id: string }; role: string }[]>(
      node.url,
      'GET',
      `/orgs/${theirs.slug}/members`,
      undefined,
      partner.token,
    );
    expect(left.body.map((m) => [m.user.id, m.role])).toEqual([[partner.user.id, 'owner']]);
  });
});

describe('who may not delete an account', () => {
  it('a token without the password, a wrong password, a malformed body or an API key: each refused, the account kept', async () => {
    const target = await registerUser(node.url, 'target');
    await addMember(node.url, org, target, 'member');
    expect((await deleteAccount(target, { password: 'not the password' })).status).toBe(403);
    for (const body of [undefined, {}, { password: PASSWORD, userId: owner.user.id }]) {
      const answer = await deleteAccount(target, body);
      expect({ body, status: answer.status, code: answer.body.error.code }).toEqual({ body, status: 400, code: 'VALIDATION_FAILED' });
    }
    const key = await createKey(node.url, org, ['boards:read', 'tasks:write', 'projects:write']);
    const byBot = await api(node.url, 'DELETE', '/me', { password: PASSWORD }, key.key);
    expect(byBot.status).toBe(403);
    expect(await memberIds()).toContain(target.user.id);
    const signedIn = await api(node.url, 'POST', '/auth/login', { email: target.email, password: PASSWORD });
    expect(signedIn.status).toBe(200);
    const socket = await connect(node.url, { token: target.token });
    await ok(socket, 'board:join', { projectId: (await createProject(node.url, org, 'Still here')).project.id });
  });
});

describe('an account deleted while it is invited', () => {
  it('is refused (409) when the invitation found the account first, and deleted again after, leaving no ghost member', async () => {
    const invitee = await registerUser(node.url, 'invitee');
    const release = await holdLock(db, 'lock table audit_logs in share mode'); // the invitation waits to log itself, its member made
    try {
      const inviting = api(node.url, 'POST', `/orgs/${org.slug}/invites`, { email: invitee.email, role: 'owner' }, owner.token);
      await expect.poll(() => lockWaiters(db)).toBe(1);
      const deleting = deleteAccount(invitee, { password: PASSWORD });
      await expect.poll(() => lockWaiters(db)).toBe(2); // the erasure waits for the invitation of its address
      await release();
      expect((await inviting).status).toBe(201);
      const refused = await deleting;
      expect({ status: refused.status, code: refused.body.error.code }).toEqual({ status: 409, code: 'CONFLICT' });
    } finally {
      await release();
    }
    expect(await memberIds()).toContain(invitee.user.id);
    expect((await deleteAccount(invitee, { password: PASSWORD })).status).toBe(204);
    expect(await memberIds()).not.toContain(invitee.user.id);
  });
});

describe('a super admin listed by address', () => {
  it('is refused while the address is in SUPER_ADMIN_EMAILS: whoever registered it next would be super admin', async () => {
    const boss = await api(node.url, 'POST', '/auth/register', { email: BOSS, password: PASSWORD, name: 'Boss' });
    expect(boss.status).toBe(201);
    const refused = await api(node.url, 'DELETE', '/me', { password: PASSWORD }, boss.body.token);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain('SUPER_ADMIN_EMAILS');
    expect((await api(node.url, 'GET', '/admin/tenants', undefined, boss.body.token)).status).toBe(200);
  });
});

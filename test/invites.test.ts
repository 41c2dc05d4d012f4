import { createHash, randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Mail } from '../server/mail/mailer.js';
import { api, createOrg, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import {
  call,
  captureMail,
  type Cast,
  castOrg,
  createKey,
  type CreatedKey,
  expectAllRefused,
  joinAs,
  type Refused,
} from './support/governance.js';
import { startServerProcess } from './support/processes.js';
import { type RunningServer, startServer, TEST_JWT_SECRET } from './support/server.js';
import { eventually } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let cast: Cast;
let mails: Mail[];
let botKey: CreatedKey;

beforeAll(async () => {
  db = await createTestDatabase();
  const capture = captureMail();
  mails = capture.mails;
  node = await startServer({ DATABASE_URL: db.url }, { mailer: capture.mailer });
  cast = await castOrg(node.url);
  botKey = await createKey(node.url, cast.org, ['boards:read', 'tasks:write', 'projects:write']);
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

const newEmail = (name: string) => `${name}-${randomUUID().slice(0, 8)}@example.test`;

function invite(org: TestOrg, email: string, role: string, auth: string) {
  return call(node.url, 'POST', `/orgs/${org.slug}/invites`, { body: { email, role }, auth });
}

async function register(email: string, name = 'newcomer') {
  const answer = await api(node.url, 'POST', '/auth/register', { email, password: 'correct horse battery', name });
  expect(answer.status).toBe(201);
  return answer.body as { token: string; user: { id: string } };
}

async function membershipsOf(userId: string) {
  return db.query<{ org_id: string; role: string }>('select org_id, role from memberships where user_id = $1 order by org_id', [userId]);
}

async function inviteRows(email: string) {
  return db.query<{ id: string; org_id: string; token_hash: string; role: string; accepted_at: Date | null }>(
    'select * from invites where email = $1',
    [email.toLowerCase()],
  );
}

/** The token in the link of the one mail sent to `to`: in the link's fragment, never in its path or query, which request logs keep. */
function tokenMailedTo(to: string): string {
  const sent = mails.filter((mail) => mail.to === to.toLowerCase());
  expect(sent).toHaveLength(1);
  const link = new URL(/https?:\/\/\S+/.exec(sent[0]!.text)![0]);
  expect(link.pathname + link.search).toBe('/invite');
  const fragment = new URLSearchParams(link.hash.slice(1));
  expect(fragment.get('email')).toBe(to.toLowerCase());
  const token = fragment.get('token');
  expect(token, `a link with a token in: ${sent[0]!.text}`).toMatch(/^[A-Za-z0-9_-]+$/);
  return token!;
}

function belowAdmin(): Refused[] {
  return [
    { who: 'member', auth: cast.member.token },
    { who: 'viewer', auth: cast.viewer.token },
    { who: 'non-member', auth: cast.outsider.token },
    { who: "another org's admin", auth: cast.otherAdmin.token },
    { who: 'bot with every permission', auth: botKey.key },
  ];
}

describe('inviting', () => {
  it('adds an existing account at once: 201 {member}', async () => {
    const existing = await register(newEmail('existing'), 'existing');
    const email = (await api(node.url, 'GET', '/me', undefined, existing.token)).body.user.email as string;
    const answer = await invite(cast.org, email, 'member', cast.admin.token);
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      member: { user: { id: existing.user.id, email, name: 'existing' }, role: 'member', joinedAt: expect.any(String) },
    });
    expect(await membershipsOf(existing.user.id)).toEqual([{ org_id: cast.org.id, role: 'member' }]);
  });

  it('answers 202 {invite} for a new email and mails a link whose token is kept only as a SHA-256', async () => {
    const email = newEmail('new');
    const answer = await invite(cast.org, email, 'viewer', cast.admin.token);
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({
      invite: {
        id: expect.any(String),
        email,
        role: 'viewer',
        invitedBy: cast.admin.user.id,
        createdAt: expect.any(String),
        expiresAt: expect.any(String),
      },
    });
    expect(new Date(answer.body.invite.expiresAt).getTime()).toBeGreaterThan(Date.now());

    const token = tokenMailedTo(email);
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(JSON.stringify(answer.body)).not.toContain(token);
    const rows = await inviteRows(email);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: answer.body.invite.id, org_id: cast.org.id, role: 'viewer', accepted_at: null });
    expect(rows[0]!.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.token_hash).toBe(createHash('sha256').update(token).digest('hex'));
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(JSON.stringify(answer.body)).not.toContain(rows[0]!.token_hash);
  });

  it('answers 409 for someone who is already a member, whatever the case of the email', async () => {
    for (const email of [cast.member.email, cast.member.email.toUpperCase()]) {
      await expectAllRefused(
        db,
        cast.org.id,
        [{ who: 'owner', auth: cast.owner.token }],
        (auth) => invite(cast.org, email, 'viewer', auth),
        409,
      );
    }
  });

  it('lets only owners invite as owner', async () => {
    const sent = mails.length;
    const existing = await register(newEmail('would-be-owner'));
    const existingEmail = (await api(node.url, 'GET', '/me', undefined, existing.token)).body.user.email as string;
    const fresh = newEmail('fresh-owner');
    for (const email of [existingEmail, fresh]) {
      await expectAllRefused(db, cast.org.id, [{ who: 'admin', auth: cast.admin.token }], (auth) => invite(cast.org, email, 'owner', auth));
    }
    expect(mails.length).toBe(sent);

    expect((await invite(cast.org, existingEmail, 'owner', cast.owner.token)).status).toBe(201);
    expect(await membershipsOf(existing.user.id)).toEqual([{ org_id: cast.org.id, role: 'owner' }]);
    const pending = await invite(cast.org, fresh, 'owner', cast.owner.token);
    expect(pending.status).toBe(202);
    expect(pending.body.invite.role).toBe('owner');

    // An owner's pending invitation as owner is the owner's to renew or withdraw: an admin can do neither.
    const invitesPath = `/orgs/${cast.org.slug}/invites`;
    for (const role of ['viewer', 'admin']) {
      await expectAllRefused(db, cast.org.id, [{ who: 'admin', auth: cast.admin.token }], (auth) => invite(cast.org, fresh, role, auth));
    }
    await expectAllRefused(db, cast.org.id, [{ who: 'admin', auth: cast.admin.token }], (auth) =>
      call(node.url, 'DELETE', `${invitesPath}/${pending.body.invite.id}`, { auth }),
    );
    expect(mails.filter((mail) => mail.to === fresh)).toHaveLength(1);
    expect((await call(node.url, 'DELETE', `${invitesPath}/${pending.body.invite.id}`, { auth: cast.owner.token })).status).toBe(204);
    // Below owner, an admin still renews and withdraws the invitations it may send.
    const renewed = newEmail('renewed');
    expect((await invite(cast.org, renewed, 'admin', cast.owner.token)).status).toBe(202);
    const downgraded = await invite(cast.org, renewed, 'viewer', cast.admin.token);
    expect(downgraded.body.invite).toMatchObject({ role: 'viewer', invitedBy: cast.admin.user.id });
    expect((await call(node.url, 'DELETE', `${invitesPath}/${downgraded.body.invite.id}`, { auth: cast.admin.token })).status).toBe(204);
  });

  it('refuses members, viewers, outsiders, another org and any key, and sends no mail', async () => {
    const sent = mails.length;
    for (const [email, role] of [
      [newEmail('refused'), 'viewer'],
      [cast.outsider.email, 'member'],
    ]) {
      await expectAllRefused(db, cast.org.id, belowAdmin(), (auth) => invite(cast.org, email!, role!, auth));
    }
    expect(mails.length).toBe(sent);
    expect(await membershipsOf(cast.outsider.user.id)).toEqual([]);
  });

  it('refuses a body with a key the schema does not name', async () => {
    await expectAllRefused(
      db,
      cast.org.id,
      [{ who: 'owner', auth: cast.owner.token }],
      (auth) =>
        call(node.url, 'POST', `/orgs/${cast.org.slug}/invites`, {
          body: { email: newEmail('x'), role: 'member', orgId: cast.otherOrg.id },
          auth,
        }),
      400,
    );
  });
});

describe('invitation mail', () => {
  it('is limited per recipient address and per org: over it, 429 with Retry-After, and nothing written or mailed', async () => {
    const owner = await registerUser(node.url, 'mailer');
    const org = await createOrg(node.url, owner);
    const victim = newEmail('victim');
    for (let i = 0; i < 3; i++) expect((await invite(org, victim, 'viewer', owner.token)).status).toBe(202);
    const mailsBefore = mails.length;
    const [rowBefore] = await inviteRows(victim);
    const again = await fetch(`${node.url}/api/v1/orgs/${org.slug}/invites`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${owner.token}` },
      body: JSON.stringify({ email: victim.toUpperCase(), role: 'admin' }),
    });
    expect(again.status).toBe(429);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(mails.length).toBe(mailsBefore);
    expect(await inviteRows(victim)).toEqual([rowBefore]);

    for (let i = 0; i < 47; i++) expect((await invite(org, newEmail(`bulk${i}`), 'viewer', owner.token)).status).toBe(202);
    const overOrg = await invite(org, newEmail('one-too-many'), 'viewer', owner.token);
    expect(overOrg.status).toBe(429);
    // Another org may still invite the addresses this one could not.
    expect((await invite(cast.org, newEmail('elsewhere'), 'viewer', cast.owner.token)).status).toBe(202);
    expect((await invite(cast.org, victim, 'viewer', cast.owner.token)).status).toBe(202);
    expect(mails.filter((mail) => mail.to === victim.toLowerCase())).toHaveLength(4);
  });

  it('is limited per inviter from all their orgs: an account that makes orgs cannot mail 50 more addresses an hour with each', async () => {
    const spammer = await registerUser(node.url, 'org-maker');
    const orgs = [await createOrg(node.url, spammer), await createOrg(node.url, spammer), await createOrg(node.url, spammer)];
    const mailsBefore = mails.length;
    for (let i = 0; i < 50; i++) expect((await invite(orgs[i % 2]!, newEmail(`spam${i}`), 'viewer', spammer.token)).status).toBe(202);
    const oneMore = newEmail('spam-more');
    const overInviter = await invite(orgs[2]!, oneMore, 'viewer', spammer.token);
    expect(overInviter).toMatchObject({ status: 429, body: { error: { code: 'RATE_LIMITED' } } });
    expect(mails.length).toBe(mailsBefore + 50);
    expect(await inviteRows(oneMore)).toEqual([]);
    // Others' invitations, into any org, are theirs to spend.
    expect((await invite(cast.org, newEmail('still-invited'), 'viewer', cast.owner.token)).status).toBe(202);
  });

  it("is held back, not the invitation, once an address had ten from all orgs: no org can block another's invitations", async () => {
    const wanted = newEmail('wanted');
    for (let i = 0; i < 4; i++) {
      const attacker = await registerUser(node.url, `attacker${i}`);
      const org = await createOrg(node.url, attacker);
      for (let j = 0; j < 3 && mails.filter((mail) => mail.to === wanted).length < 10; j++) {
        expect((await invite(org, wanted, 'viewer', attacker.token)).status).toBe(202);
      }
    }
    expect(mails.filter((mail) => mail.to === wanted)).toHaveLength(10);

    const invited = await invite(cast.org, wanted, 'member', cast.owner.token);
    expect(invited.status).toBe(202);
    expect(mails.filter((mail) => mail.to === wanted)).toHaveLength(10); // no mail more
    const [logged] = await db.query<{ details: { mailed: boolean } }>(
      `select details from audit_logs where action = 'member.invited' and org_id = $1 and details->>'email' = $2`,
      [cast.org.id, wanted],
    );
    expect(logged?.details.mailed).toBe(false);
    expect((await inviteRows(wanted)).map((row) => row.org_id)).toContain(cast.org.id);
    const user = await register(wanted);
    expect(await membershipsOf(user.user.id)).toContainEqual({ org_id: cast.org.id, role: 'member' });
  });
});

describe('pending invitations', () => {
  it('are listed to admins, without token or hash', async () => {
    const email = newEmail('listed');
    const sent = await invite(cast.org, email, 'member', cast.owner.token);
    const token = tokenMailedTo(email);
    const answer = await call(node.url, 'GET', `/orgs/${cast.org.slug}/invites`, { auth: cast.admin.token });
    expect(answer.status).toBe(200);
    expect(answer.body).toContainEqual(sent.body.invite);
    const [row] = await inviteRows(email);
    expect(JSON.stringify(answer.body)).not.toContain(token);
    expect(JSON.stringify(answer.body)).not.toContain(row!.token_hash);
    expect(JSON.stringify(answer.body)).not.toMatch(/tokenHash|token_hash/);
  });

  it('are not listed to members, viewers, outsiders, another org or any key', async () => {
    await expectAllRefused(db, cast.org.id, belowAdmin(), (auth) => call(node.url, 'GET', `/orgs/${cast.org.slug}/invites`, { auth }));
  });

  it('can be revoked by an admin (204), after which registering with the email adds no membership', async () => {
    const email = newEmail('revoked');
    const sent = await invite(cast.org, email, 'member', cast.owner.token);
    const id = sent.body.invite.id as string;

    await expectAllRefused(db, cast.org.id, belowAdmin(), (auth) =>
      call(node.url, 'DELETE', `/orgs/${cast.org.slug}/invites/${id}`, { auth }),
    );
    expect(await inviteRows(email)).toHaveLength(1);

    const revoked = await call(node.url, 'DELETE', `/orgs/${cast.org.slug}/invites/${id}`, { auth: cast.admin.token });
    expect(revoked.status).toBe(204);
    expect(await inviteRows(email)).toEqual([]);
    const list = await call(node.url, 'GET', `/orgs/${cast.org.slug}/invites`, { auth: cast.admin.token });
    expect(list.body.map((i: { id: string }) => i.id)).not.toContain(id);
    expect((await call(node.url, 'DELETE', `/orgs/${cast.org.slug}/invites/${id}`, { auth: cast.admin.token })).status).toBe(404);

    const user = await register(email);
    expect(await membershipsOf(user.user.id)).toEqual([]);
    expect((await api(node.url, 'GET', '/me', undefined, user.token)).body.memberships).toEqual([]);
  });

  it('are revoked once their sender may no longer send them: removed, gone, or their role lowered', async () => {
    const pending = async (email: string) => (await inviteRows(email)).filter((row) => row.accepted_at === null).map((row) => row.role);
    const [bob, carol, dave] = await Promise.all(['bob', 'carol', 'dave'].map((name) => joinAs(node.url, cast.org, 'admin', name)));
    await call(node.url, 'PATCH', `/orgs/${cast.org.slug}/members/${carol.user.id}`, { body: { role: 'owner' }, auth: cast.owner.token });
    const [bobAlt, carolOwner, carolAdmin, daveAlt, othersInvite] = ['bob-alt', 'carol-o', 'carol-a', 'dave-alt', 'others'].map(newEmail);
    for (const [email, role, sender] of [
      [bobAlt, 'admin', bob],
      [carolOwner, 'owner', carol],
      [carolAdmin, 'admin', carol],
      [daveAlt, 'member', dave],
      [othersInvite, 'member', cast.admin],
    ] as const)
      expect((await invite(cast.org, email!, role, sender.token)).status).toBe(202);

    // Removed by an owner: the admin invitation Bob sent to an address of his own goes with him.
    expect((await call(node.url, 'DELETE', `/orgs/${cast.org.slug}/members/${bob.user.id}`, { auth: cast.owner.token })).status).toBe(204);
    expect(await pending(bobAlt)).toEqual([]);
    expect(await membershipsOf((await register(bobAlt)).user.id)).toEqual([]);
    // Demoted from owner to admin, Carol keeps the admin invitation and loses the owner one; as a member, both.
    const demote = (role: string) =>
      call(node.url, 'PATCH', `/orgs/${cast.org.slug}/members/${carol.user.id}`, { body: { role }, auth: cast.owner.token });
    expect((await demote('admin')).status).toBe(200);
    expect([await pending(carolOwner), await pending(carolAdmin)]).toEqual([[], ['admin']]);
    expect((await demote('member')).status).toBe(200);
    expect(await pending(carolAdmin)).toEqual([]);
    // Leaving takes them too; another admin's invitation stays.
    expect((await call(node.url, 'DELETE', `/orgs/${cast.org.slug}/members/${dave.user.id}`, { auth: dave.token })).status).toBe(204);
    expect(await pending(daveAlt)).toEqual([]);
    expect(await pending(othersInvite)).toEqual(['member']);

    const revoked = await db.query<{ email: string; reason: string }>(
      `select details->>'email' as email, details->>'reason' as reason from audit_logs
        where org_id = $1 and action = 'invite.revoked' and details->>'email' = any($2) order by created_at`,
      [cast.org.id, [bobAlt, carolOwner, carolAdmin, daveAlt]],
    );
    expect(revoked).toEqual(
      [bobAlt, carolOwner, carolAdmin, daveAlt].map((email) => ({
        email: email!.toLowerCase(),
        reason: 'its sender may no longer invite',
      })),
    );
  });

  it("cannot be revoked through another org's slug", async () => {
    const email = newEmail('elsewhere');
    const sent = await invite(cast.org, email, 'member', cast.owner.token);
    const answer = await call(node.url, 'DELETE', `/orgs/${cast.otherOrg.slug}/invites/${sent.body.invite.id}`, {
      auth: cast.otherOrg.owner.token,
    });
    expect(answer.status).toBe(404);
    expect(await inviteRows(email)).toHaveLength(1);
  });
});

describe('registering with an invited email', () => {
  it('turns every pending invitation, from every org, into a membership with the invited role', async () => {
    const email = newEmail('Twice');
    expect((await invite(cast.org, email, 'admin', cast.owner.token)).status).toBe(202);
    expect((await invite(cast.otherOrg, email, 'viewer', cast.otherAdmin.token)).status).toBe(202);

    const user = await register(email.toUpperCase());
    const expected = [
      { org_id: cast.org.id, role: 'admin' },
      { org_id: cast.otherOrg.id, role: 'viewer' },
    ].sort((a, b) => a.org_id.localeCompare(b.org_id));
    expect(await membershipsOf(user.user.id)).toEqual(expected);
    const me = await api(node.url, 'GET', '/me', undefined, user.token);
    expect(me.body.memberships).toHaveLength(2);
    expect(me.body.memberships).toEqual(
      expect.arrayContaining([
        { org: { id: cast.org.id, slug: cast.org.slug, name: expect.any(String) }, role: 'admin' },
        { org: { id: cast.otherOrg.id, slug: cast.otherOrg.slug, name: expect.any(String) }, role: 'viewer' },
      ]),
    );
    const rows = await inviteRows(email);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.accepted_at).not.toBeNull();
    const list = await call(node.url, 'GET', `/orgs/${cast.org.slug}/invites`, { auth: cast.owner.token });
    expect(list.body.map((i: { email: string }) => i.email)).not.toContain(email.toLowerCase());
    // The new member acts with the invited role at once.
    expect((await call(node.url, 'GET', `/orgs/${cast.org.slug}/invites`, { auth: user.token })).status).toBe(200);
    expect((await call(node.url, 'GET', `/orgs/${cast.otherOrg.slug}/invites`, { auth: user.token })).status).toBe(403);
  });

  it('does not honour an expired invitation', async () => {
    const email = newEmail('expired');
    const sent = await invite(cast.org, email, 'member', cast.owner.token);
    await db.query(`update invites set expires_at = now() - interval '1 minute' where id = $1`, [sent.body.invite.id]);
    const list = await call(node.url, 'GET', `/orgs/${cast.org.slug}/invites`, { auth: cast.owner.token });
    expect(list.body.map((i: { id: string }) => i.id)).not.toContain(sent.body.invite.id);

    const user = await register(email);
    expect(await membershipsOf(user.user.id)).toEqual([]);
    expect((await api(node.url, 'GET', `/orgs/${cast.org.slug}`, undefined, user.token)).status).toBe(403);
    expect((await inviteRows(email))[0]!.accepted_at).toBeNull();
  });
});

describe('an invitation left pending for an account that exists (a sign-up cut off before it accepted it)', () => {
  /** The account, and its org's invitation written as a sign-up cut off between the two leaves them. */
  async function leftPending(role: string) {
    const email = newEmail('cut-off');
    const user = await register(email);
    await db.query(
      `insert into invites (id, created_at, org_id, email, role, token_hash, expires_at)
       values ($1, now(), $2, $3, $4, $5, now() + interval '1 day')`,
      [randomUUID(), cast.org.id, email, role, createHash('sha256').update(randomUUID()).digest('hex')],
    );
    return { email, user };
  }

  /** The account made a member of the org directly (as an invitation written before the fix left it), and a way to leave another invitation pending. */
  async function addedDirectly(email: string, userId: string) {
    await db.query(
      `insert into memberships (id, created_at, org_id, user_id, role, invited_at, joined_at) values ($1, now(), $2, $3, 'member', now(), now())`,
      [randomUUID(), cast.org.id, userId],
    );
    return {
      pendAgain: (role: string) =>
        db.query(
          `insert into invites (id, created_at, org_id, email, role, token_hash, expires_at)
           values ($1, now(), $2, $3, $4, $5, now() + interval '1 day')`,
          [randomUUID(), cast.org.id, email, role, createHash('sha256').update(randomUUID()).digest('hex')],
        ),
    };
  }

  it('is accepted when the account signs in', async () => {
    const { email, user } = await leftPending('member');
    const login = await api(node.url, 'POST', '/auth/login', { email, password: 'correct horse battery' });
    expect(login.status).toBe(200);
    // Before: no membership, the invitation pending for good, and nothing that would ever accept it.
    expect(await membershipsOf(user.user.id)).toEqual([{ org_id: cast.org.id, role: 'member' }]);
    expect((await inviteRows(email))[0]!.accepted_at).not.toBeNull();
    const me = await api(node.url, 'GET', '/me', undefined, login.body.token);
    expect(me.body.memberships).toEqual([{ org: expect.objectContaining({ id: cast.org.id }), role: 'member' }]);
  });

  it('is answered, not kept, when the account has been added meanwhile, and lets no removed member back in at sign-in', async () => {
    const { email, user } = await leftPending('admin');
    const added = await addedDirectly(email, user.user.id);
    const login = () => api(node.url, 'POST', '/auth/login', { email, password: 'correct horse battery' });
    expect((await login()).status).toBe(200);
    expect(await membershipsOf(user.user.id)).toEqual([{ org_id: cast.org.id, role: 'member' }]);
    expect((await inviteRows(email))[0]!.accepted_at).not.toBeNull();

    // Another left pending the same way, then the member removed: the removal takes it with them.
    await added.pendAgain('admin');
    expect((await call(node.url, 'DELETE', `/orgs/${cast.org.slug}/members/${user.user.id}`, { auth: cast.owner.token })).status).toBe(204);
    expect((await login()).status).toBe(200);
    expect(await membershipsOf(user.user.id)).toEqual([]);
  });

  it('is accepted, not left pending, when an admin adds the account by inviting it again', async () => {
    const { email, user } = await leftPending('viewer');
    const added = await invite(cast.org, email, 'member', cast.owner.token);
    expect(added.status).toBe(201);
    expect(await membershipsOf(user.user.id)).toEqual([{ org_id: cast.org.id, role: 'member' }]);
    expect((await inviteRows(email))[0]!.accepted_at).not.toBeNull();
    const list = await call(node.url, 'GET', `/orgs/${cast.org.slug}/invites`, { auth: cast.owner.token });
    expect(list.body.map((i: { email: string }) => i.email)).not.toContain(email);
  });
});

describe('an invitation racing the registration of its email', () => {
  it('makes the new account a member whichever commits first: the invitation sees the account, or the sign-up sees the invitation', async () => {
    const email = newEmail('racer');
    // The org's row held: the invitation reads that the address has no account, then waits to write.
    const release = await holdLock(db, `select 1 from organizations where id = '${cast.org.id}' for update`);
    const invited = invite(cast.org, email, 'member', cast.owner.token);
    let registered: Promise<{ token: string; user: { id: string } }>;
    try {
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      // The account commits while the invitation waits; the sign-up then looks for its invitations.
      let done = false;
      registered = register(email).finally(() => (done = true));
      await eventually(async () => expect(done || (await lockWaiters(db)) === 2).toBe(true));
    } finally {
      await release();
    }
    expect((await invited).status).toBe(202);
    const user = await registered;
    expect(await membershipsOf(user.user.id)).toEqual([{ org_id: cast.org.id, role: 'member' }]);
    expect((await inviteRows(email)).map((row) => row.accepted_at)).toEqual([expect.any(Date)]);
  });
});

describe('invitations at once', () => {
  const pendingRows = async (orgId: string, email: string) =>
    (await inviteRows(email)).filter((row) => row.org_id === orgId && row.accepted_at === null);

  it('keeps one pending invitation per email when several come at once: each answer names it, sign-up takes its role', async () => {
    const roles = ['viewer', 'admin', 'member'];
    for (let round = 0; round < 5; round++) {
      const org = await createOrg(node.url, cast.owner);
      const email = newEmail(`at-once-${round}`);
      const answers = await Promise.all(roles.map((role) => invite(org, email, role, cast.owner.token)));
      expect({ round, statuses: answers.map((a) => a.status) }).toEqual({ round, statuses: [202, 202, 202] });
      const rows = await pendingRows(org.id, email);
      expect({ round, pending: rows.length }).toEqual({ round, pending: 1 });
      const [row] = rows;
      expect(roles).toContain(row!.role);
      expect(answers.map((a) => a.body.invite.id)).toEqual([row!.id, row!.id, row!.id]);
      const list = await call(node.url, 'GET', `/orgs/${org.slug}/invites`, { auth: cast.owner.token });
      expect(list.body.filter((i: { email: string }) => i.email === email)).toEqual([
        expect.objectContaining({ id: row!.id, role: row!.role }),
      ]);

      if (round % 2 === 0) {
        const user = await register(email);
        expect({ round, memberships: await membershipsOf(user.user.id) }).toEqual({
          round,
          memberships: [{ org_id: org.id, role: row!.role }],
        });
      } else {
        // Revoking the one invitation listed leaves none behind to be accepted.
        expect((await call(node.url, 'DELETE', `/orgs/${org.slug}/invites/${row!.id}`, { auth: cast.owner.token })).status).toBe(204);
        const user = await register(email);
        expect({ round, memberships: await membershipsOf(user.user.id) }).toEqual({ round, memberships: [] });
      }
    }
  });

  it('revokes an invitation once when identical revocations come at once: one 204, the rest 404, one audit entry', async () => {
    for (let round = 0; round < 5; round++) {
      const email = newEmail(`revoked-at-once-${round}`);
      const sent = await invite(cast.org, email, 'member', cast.owner.token);
      const id = sent.body.invite.id as string;
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => call(node.url, 'DELETE', `/orgs/${cast.org.slug}/invites/${id}`, { auth: cast.admin.token })),
      );
      const outcome = answers.map((a) => `${a.status} ${a.body?.error?.code ?? ''}`.trim()).sort();
      expect({ round, outcome }).toEqual({ round, outcome: ['204', ...Array(5).fill('404 NOT_FOUND')] });
      expect(await inviteRows(email)).toEqual([]);
      const logged = await db.query("select id from audit_logs where org_id = $1 and action = 'invite.revoked' and entity_id = $2", [
        cast.org.id,
        id,
      ]);
      expect({ round, logged: logged.length }).toEqual({ round, logged: 1 });
    }
  });
});

describe('the request log', () => {
  it('writes the token of an invitation link as [redacted], however the link spells it, and no fragment', async () => {
    const logged = await startServerProcess('logging', { DATABASE_URL: db.url, JWT_SECRET: TEST_JWT_SECRET, LOG_LEVEL: 'info' });
    try {
      const secrets = Array.from({ length: 4 }, () => `secret-${randomUUID()}`);
      // A link mailed before the token moved to the fragment, and spellings of it a client may send as they are.
      const paths = [
        `/invite?token=${secrets[0]}&email=someone%40example.test`,
        `/invite?a=1&TOKEN=${secrets[1]}`,
        `/invite?%74oken=${secrets[2]}`,
        `/invite#token=${secrets[3]}`,
      ];
      for (const path of paths) await rawGet(logged.url, path);
      // The last request's entry; the output keeps the process's order.
      await eventually(() => expect(logged.output()).toContain('"url":"/invite"'));
      expect(logged.output()).toContain('"url":"/invite?token=[redacted]&email=someone%40example.test"');
      expect(logged.output()).toContain('"url":"/invite?a=1&TOKEN=[redacted]"');
      expect(logged.output()).toContain('"url":"/invite?%74oken=[redacted]"');
      for (const secret of secrets) expect(logged.output()).not.toContain(secret);
    } finally {
      await logged.stop();
    }
  });
});

/** A GET of `path` exactly as written (fetch would drop a fragment). */
function rawGet(base: string, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.get(new URL(base), { path }, (response) => {
      response.resume();
      response.once('end', resolve);
    });
    request.once('error', reject);
  });
}

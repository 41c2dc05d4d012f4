import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnJson, ProjectJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import {
  barrier,
  call,
  type Cast,
  castOrg,
  createKey,
  type CreatedKey,
  expectAllRefused,
  joinAs,
  orgRows,
  recordAll,
  type Refused,
} from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, eventually, nextEvent, ok, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let cast: Cast;
let project: ProjectJson;
let columns: ColumnJson[];
/** A key of the org with every permission: no key may manage people. */
let botKey: CreatedKey;
/** A key of the org that may write tasks but not read: refused even what a viewer may do. */
let writeOnlyKey: CreatedKey;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  cast = await castOrg(node.url);
  ({ project, columns } = await createProject(node.url, cast.org));
  botKey = await createKey(node.url, cast.org, ['boards:read', 'tasks:write', 'projects:write']);
  writeOnlyKey = await createKey(node.url, cast.org, ['tasks:write']);
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

const members = (path = '') => `/orgs/${cast.org.slug}/members${path}`;

async function roleOf(user: TestUser): Promise<string | null> {
  const rows = await db.query<{ role: string }>('select role from memberships where org_id = $1 and user_id = $2', [
    cast.org.id,
    user.user.id,
  ]);
  return rows[0]?.role ?? null;
}

/** Everyone below admin, and everyone outside: none may manage people. */
function belowAdmin(): Refused[] {
  return [
    { who: 'member', auth: cast.member.token },
    { who: 'viewer', auth: cast.viewer.token },
    { who: 'non-member', auth: cast.outsider.token },
    { who: "another org's admin", auth: cast.otherAdmin.token },
    { who: 'bot with every permission', auth: botKey.key },
  ];
}

describe('listing members', () => {
  it('answers every member with their role to a viewer (and to a bot with boards:read)', async () => {
    for (const auth of [cast.viewer.token, botKey.key]) {
      const answer = await call(node.url, 'GET', members(), { auth });
      expect(answer.status).toBe(200);
      const byId = Object.fromEntries(answer.body.map((m: any) => [m.user.id, m]));
      for (const [user, role] of [
        [cast.owner, 'owner'],
        [cast.admin, 'admin'],
        [cast.member, 'member'],
        [cast.viewer, 'viewer'],
      ] as const) {
        expect(byId[user.user.id]).toEqual({
          user: { id: user.user.id, email: user.email, name: user.user.name },
          role,
          joinedAt: expect.any(String),
        });
      }
      expect(byId[cast.outsider.user.id]).toBeUndefined();
      expect(JSON.stringify(answer.body)).not.toMatch(/password|argon/i);
      // Oldest first, each joined at the time stored, to the millisecond.
      const stored = await db.query<{ user_id: string; joined_at: Date }>(
        'select user_id, joined_at from memberships where org_id = $1 order by created_at, id',
        [cast.org.id],
      );
      expect(answer.body.map((m: any) => [m.user.id, m.joinedAt])).toEqual(stored.map((row) => [row.user_id, row.joined_at.toISOString()]));
    }
  });

  it('refuses a non-member, another org, and a key without boards:read; an unknown slug is 404', async () => {
    await expectAllRefused(
      db,
      cast.org.id,
      [
        { who: 'non-member', auth: cast.outsider.token },
        { who: "another org's admin", auth: cast.otherAdmin.token },
        { who: 'key without boards:read', auth: writeOnlyKey.key },
      ],
      (auth) => call(node.url, 'GET', members(), { auth }),
    );
    expect((await call(node.url, 'GET', '/orgs/no-such-org/members', { auth: cast.owner.token })).status).toBe(404);
  });
});

describe('changing a role', () => {
  it('lets an admin move a member between the roles below owner', async () => {
    const target = await joinAs(node.url, cast.org, 'member');
    for (const role of ['viewer', 'admin', 'member']) {
      const answer = await call(node.url, 'PATCH', members(`/${target.user.id}`), { body: { role }, auth: cast.admin.token });
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ user: { id: target.user.id }, role });
      expect(await roleOf(target)).toBe(role);
    }
  });

  it('refuses an admin who grants owner or changes an owner, and leaves the rows as they were', async () => {
    const target = await joinAs(node.url, cast.org, 'member');
    const coOwner = await joinAs(node.url, cast.org, 'owner', 'co-owner');
    await expectAllRefused(db, cast.org.id, [{ who: 'admin', auth: cast.admin.token }], (auth) =>
      call(node.url, 'PATCH', members(`/${target.user.id}`), { body: { role: 'owner' }, auth }),
    );
    await expectAllRefused(db, cast.org.id, [{ who: 'admin', auth: cast.admin.token }], (auth) =>
      call(node.url, 'PATCH', members(`/${coOwner.user.id}`), { body: { role: 'admin' }, auth }),
    );
    await expectAllRefused(db, cast.org.id, [{ who: 'admin', auth: cast.admin.token }], (auth) =>
      call(node.url, 'PATCH', members(`/${cast.admin.user.id}`), { body: { role: 'owner' }, auth }),
    );
    expect(await roleOf(target)).toBe('member');
    expect(await roleOf(coOwner)).toBe('owner');
    expect((await call(node.url, 'DELETE', members(`/${coOwner.user.id}`), { auth: cast.owner.token })).status).toBe(204);
  });

  it('lets an owner grant owner, and take it away again', async () => {
    const target = await joinAs(node.url, cast.org, 'admin');
    const granted = await call(node.url, 'PATCH', members(`/${target.user.id}`), { body: { role: 'owner' }, auth: cast.owner.token });
    expect(granted.status).toBe(200);
    expect(await roleOf(target)).toBe('owner');
    const taken = await call(node.url, 'PATCH', members(`/${target.user.id}`), { body: { role: 'member' }, auth: cast.owner.token });
    expect(taken.status).toBe(200);
    expect(await roleOf(target)).toBe('member');
  });

  it('refuses members, viewers, outsiders, another org and any key', async () => {
    const target = await joinAs(node.url, cast.org, 'member');
    await expectAllRefused(db, cast.org.id, belowAdmin(), (auth) =>
      call(node.url, 'PATCH', members(`/${target.user.id}`), { body: { role: 'viewer' }, auth }),
    );
    await expectAllRefused(db, cast.org.id, belowAdmin(), (auth) =>
      call(node.url, 'PATCH', members(`/${cast.member.user.id}`), { body: { role: 'admin' }, auth }),
    );
    expect(await roleOf(target)).toBe('member');
  });

  it('refuses to demote the last owner with 400, and answers 404 for someone who is not a member', async () => {
    expect(await db.query("select user_id from memberships where org_id = $1 and role = 'owner'", [cast.org.id])).toEqual([
      { user_id: cast.owner.user.id },
    ]);
    await expectAllRefused(
      db,
      cast.org.id,
      [{ who: 'the last owner', auth: cast.owner.token }],
      (auth) => call(node.url, 'PATCH', members(`/${cast.owner.user.id}`), { body: { role: 'admin' }, auth }),
      400,
    );
    expect(await roleOf(cast.owner)).toBe('owner');
    await expectAllRefused(
      db,
      cast.org.id,
      [{ who: 'owner', auth: cast.owner.token }],
      (auth) => call(node.url, 'PATCH', members(`/${cast.outsider.user.id}`), { body: { role: 'member' }, auth }),
      404,
    );
    await expectAllRefused(
      db,
      cast.org.id,
      [{ who: 'owner', auth: cast.owner.token }],
      (auth) => call(node.url, 'PATCH', members(`/${cast.member.user.id}`), { body: { role: 'member', orgId: cast.otherOrg.id }, auth }),
      400,
    );
  });
});

describe('removing a member', () => {
  it('lets an admin remove a member', async () => {
    const target = await joinAs(node.url, cast.org, 'member');
    const answer = await call(node.url, 'DELETE', members(`/${target.user.id}`), { auth: cast.admin.token });
    expect(answer.status).toBe(204);
    expect(await roleOf(target)).toBeNull();
    expect((await api(node.url, 'GET', `/orgs/${cast.org.slug}`, undefined, target.token)).status).toBe(403);
  });

  it('refuses an admin who removes an owner (even the only one), and lets an owner remove an owner', async () => {
    const coOwner = await joinAs(node.url, cast.org, 'owner', 'co-owner');
    for (const owner of [coOwner, cast.owner]) {
      await expectAllRefused(db, cast.org.id, [{ who: 'admin', auth: cast.admin.token }], (auth) =>
        call(node.url, 'DELETE', members(`/${owner.user.id}`), { auth }),
      );
    }
    expect(await roleOf(coOwner)).toBe('owner');
    const removed = await call(node.url, 'DELETE', members(`/${coOwner.user.id}`), { auth: cast.owner.token });
    expect(removed.status).toBe(204);
    expect(await roleOf(coOwner)).toBeNull();
  });

  it('refuses members, viewers, outsiders, another org and any key', async () => {
    const target = await joinAs(node.url, cast.org, 'member');
    await expectAllRefused(db, cast.org.id, belowAdmin(), (auth) => call(node.url, 'DELETE', members(`/${target.user.id}`), { auth }));
    expect(await roleOf(target)).toBe('member');
  });

  it('answers 404 for someone who is not a member', async () => {
    await expectAllRefused(
      db,
      cast.org.id,
      [{ who: 'owner', auth: cast.owner.token }],
      (auth) => call(node.url, 'DELETE', members(`/${cast.otherAdmin.user.id}`), { auth }),
      404,
    );
  });
});

describe('leaving', () => {
  it('lets every member leave by deleting their own membership', async () => {
    for (const role of ['viewer', 'member', 'admin']) {
      const leaver = await joinAs(node.url, cast.org, role);
      const answer = await call(node.url, 'DELETE', members(`/${leaver.user.id}`), { auth: leaver.token });
      expect(answer.status).toBe(204);
      expect(await roleOf(leaver)).toBeNull();
      expect((await api(node.url, 'GET', `/orgs/${cast.org.slug}`, undefined, leaver.token)).status).toBe(403);
    }
  });

  it('lets an owner leave while another owner stays, and never the last owner (400)', async () => {
    const coOwner = await joinAs(node.url, cast.org, 'owner', 'co-owner');
    const left = await call(node.url, 'DELETE', members(`/${coOwner.user.id}`), { auth: coOwner.token });
    expect(left.status).toBe(204);
    expect(await roleOf(coOwner)).toBeNull();

    await expectAllRefused(
      db,
      cast.org.id,
      [{ who: 'the last owner', auth: cast.owner.token }],
      (auth) => call(node.url, 'DELETE', members(`/${cast.owner.user.id}`), { auth }),
      400,
    );
    expect(await roleOf(cast.owner)).toBe('owner');
  });
});

describe('the last owner, under concurrency', () => {
  const owners = async (orgId: string) =>
    (await db.query<{ n: number }>("select count(*)::int as n from memberships where org_id = $1 and role = 'owner'", [orgId]))[0]!.n;
  // Two accounts for every round, each round in an org of its own that they own together (an
  // account each round would spend most of the rounds' time on password hashes).
  let first: TestUser;
  let second: TestUser;
  beforeAll(async () => {
    first = await registerUser(node.url, 'first-owner');
    second = await registerUser(node.url, 'second-owner');
  });
  const ownedByBoth = async () => {
    const org = await createOrg(node.url, first);
    await addMember(node.url, org, second, 'owner');
    return org;
  };

  it('survives two owners demoting each other at once: one change wins, the other is refused', async () => {
    for (let round = 0; round < 8; round++) {
      const org = await ownedByBoth();
      const answers = await Promise.all([
        call(node.url, 'PATCH', `/orgs/${org.slug}/members/${second.user.id}`, { body: { role: 'admin' }, auth: first.token }),
        call(node.url, 'PATCH', `/orgs/${org.slug}/members/${first.user.id}`, { body: { role: 'admin' }, auth: second.token }),
      ]);
      expect({ round, owners: await owners(org.id) }).toEqual({ round, owners: 1 });
      expect(answers.map((a) => a.status).filter((status) => status === 200)).toHaveLength(1);
    }
  });

  it('survives two owners leaving at once: one leaves, the other stays', async () => {
    for (let round = 0; round < 8; round++) {
      const org = await ownedByBoth();
      const answers = await Promise.all(
        [first, second].map((owner) => call(node.url, 'DELETE', `/orgs/${org.slug}/members/${owner.user.id}`, { auth: owner.token })),
      );
      expect({ round, owners: await owners(org.id) }).toEqual({ round, owners: 1 });
      expect(answers.map((a) => a.status).sort()).toEqual([204, 400]);
    }
  });

  // The attacker review's race: the leave deadlocked with the others about one try in six and was answered 503.
  it('survives an owner leaving while the other owner demotes themself and is removed by them: each is answered, none 503', async () => {
    for (let round = 0; round < 16; round++) {
      const org = await ownedByBoth();
      const member = (user: TestUser) => `/orgs/${org.slug}/members/${user.user.id}`;
      const answers = await Promise.all([
        call(node.url, 'PATCH', member(first), { body: { role: 'viewer' }, auth: first.token }),
        call(node.url, 'DELETE', member(first), { auth: second.token }),
        call(node.url, 'DELETE', member(second), { auth: second.token }),
      ]);
      expect({ round, owners: await owners(org.id) }).toEqual({ round, owners: 1 });
      expect({ round, statuses: answers.map((a) => a.status) }).toEqual({
        round,
        statuses: [expect.toBeOneOf([200, 400, 403, 404]), expect.toBeOneOf([204, 403, 404]), expect.toBeOneOf([204, 400])],
      });
    }
  }, 120_000);
});

describe('a role change, live', () => {
  it('reaches the org sockets as member.role_changed, and the next action is judged by the new role', async () => {
    const demoted = await joinAs(node.url, cast.org, 'member', 'demoted');
    const ownerSocket = await connect(node.url, { token: cast.owner.token });
    const demotedSocket = await connect(node.url, { token: demoted.token });
    const strangerSocket = await connect(node.url, { token: cast.otherAdmin.token });
    const strangerSeen = recordAll(strangerSocket);
    await ok(demotedSocket, 'board:join', { projectId: project.id });
    const create = () => request(demotedSocket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'by demoted' });
    expect((await create()).ok).toBe(true);

    const expected = { orgId: cast.org.id, type: 'member.role_changed', data: { userId: demoted.user.id, role: 'viewer' } };
    const toOwner = nextEvent(ownerSocket, 'org:event', (e) => e.type === 'member.role_changed');
    const toDemoted = nextEvent(demotedSocket, 'org:event', (e) => e.type === 'member.role_changed');
    const changed = await call(node.url, 'PATCH', members(`/${demoted.user.id}`), { body: { role: 'viewer' }, auth: cast.owner.token });
    expect(changed.status).toBe(200);
    expect(await toOwner).toEqual(expected);
    expect(await toDemoted).toEqual(expected);

    const before = await orgRows(db, cast.org.id);
    expect(await create()).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const http = await call(node.url, 'POST', `/orgs/${cast.org.slug}/projects/${project.id}/tasks`, {
      body: { columnId: columns[0]!.id, title: 'by demoted over HTTP' },
      auth: demoted.token,
    });
    expect(http.status).toBe(403);
    expect(await orgRows(db, cast.org.id)).toEqual(before);
    expect(await ok(demotedSocket, 'board:join', { projectId: project.id })).toMatchObject({ project: { id: project.id } });

    await call(node.url, 'PATCH', members(`/${demoted.user.id}`), { body: { role: 'member' }, auth: cast.owner.token });
    expect((await create()).ok).toBe(true);
    await barrier(strangerSocket);
    expect(strangerSeen).toEqual([]);
  });
});

describe('a removal, live', () => {
  it('sends the removed user member.removed and access:revoked, and afterwards nothing of the org', async () => {
    const removed = await joinAs(node.url, cast.org, 'member', 'removed');
    const removedSocket = await connect(node.url, { token: removed.token });
    const watcher = await connect(node.url, { token: cast.owner.token });
    await ok(removedSocket, 'board:join', { projectId: project.id });
    await ok(watcher, 'board:join', { projectId: project.id });
    const seen = recordAll(removedSocket);

    const revoked = nextEvent(removedSocket, 'access:revoked');
    const removedHears = nextEvent(removedSocket, 'org:event', (e) => e.type === 'member.removed');
    const watcherHears = nextEvent(watcher, 'org:event', (e) => e.type === 'member.removed');
    const answer = await call(node.url, 'DELETE', members(`/${removed.user.id}`), { auth: cast.admin.token });
    expect(answer.status).toBe(204);
    expect(await revoked).toEqual({ orgId: cast.org.id, reason: 'removed' });
    const removedEvent = { orgId: cast.org.id, type: 'member.removed', data: { userId: removed.user.id } };
    expect(await removedHears).toEqual(removedEvent);
    expect(await watcherHears).toEqual(removedEvent);
    await barrier(removedSocket);
    const afterRemoval = seen.length;

    // Changes in the org: the watcher (positive control) hears them, the removed user does not.
    const boardEvent = nextEvent(watcher, 'board:event', (e) => e.type === 'task.created');
    const created = await call(node.url, 'POST', `/orgs/${cast.org.slug}/projects/${project.id}/tasks`, {
      body: { columnId: columns[0]!.id, title: 'after the removal' },
      auth: cast.admin.token,
    });
    expect(created.status).toBe(201);
    expect((await boardEvent).data.task.id).toBe(created.body.task.id);
    const orgEvent = nextEvent(watcher, 'org:event', (e) => e.type === 'project.created');
    const newProject = await call(node.url, 'POST', `/orgs/${cast.org.slug}/projects`, { body: { name: 'Later' }, auth: cast.admin.token });
    expect(newProject.status).toBe(201);
    await orgEvent;
    await barrier(removedSocket);
    expect(seen.slice(afterRemoval)).toEqual([]);

    expect(await request(removedSocket, 'board:join', { projectId: project.id })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    expect(await request(removedSocket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
    const again = nextEvent(watcher, 'board:event', (e) => e.type === 'task.created');
    await call(node.url, 'POST', `/orgs/${cast.org.slug}/projects/${project.id}/tasks`, {
      body: { columnId: columns[0]!.id, title: 'after the refused join' },
      auth: cast.admin.token,
    });
    await again;
    await barrier(removedSocket);
    expect(seen.slice(afterRemoval)).toEqual([]);
    expect(await roleOf(removed)).toBeNull();
  });

  it('refuses a board:join that was under way when the removal committed, and leaves the socket out of the room', async () => {
    const removed = await joinAs(node.url, cast.org, 'member', 'removed-mid-join');
    const removedSocket = await connect(node.url, { token: removed.token });
    const watcher = await connect(node.url, { token: cast.owner.token });
    await ok(watcher, 'board:join', { projectId: project.id });
    const seen = recordAll(removedSocket);

    // The join is let in and waits for the board's rows while the removal commits and kicks.
    const release = await holdLock(db, 'lock table tasks in access exclusive mode');
    let join: Promise<unknown>;
    try {
      join = request(removedSocket, 'board:join', { projectId: project.id });
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      const revoked = nextEvent(removedSocket, 'access:revoked');
      expect((await call(node.url, 'DELETE', members(`/${removed.user.id}`), { auth: cast.admin.token })).status).toBe(204);
      await revoked;
    } finally {
      await release();
    }
    expect(await join).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    const afterJoin = seen.length;
    const boardEvent = nextEvent(watcher, 'board:event', (e) => e.type === 'task.created');
    await call(node.url, 'POST', `/orgs/${cast.org.slug}/projects/${project.id}/tasks`, {
      body: { columnId: columns[0]!.id, title: 'after the refused join' },
      auth: cast.admin.token,
    });
    await boardEvent;
    await barrier(removedSocket);
    expect(seen.slice(afterJoin)).toEqual([]);
  });
});

describe('removals and role changes at once', () => {
  const auditOf = (orgId: string, userId: string) =>
    db.query<{ action: string; details: { role?: string; from?: string; to?: string } }>(
      'select action, details from audit_logs where org_id = $1 and entity_id = $2 order by action',
      [orgId, userId],
    );

  it('lets one of several identical removals win: one 204, the rest 404, one audit entry, one broadcast', async () => {
    const watcher = await connect(node.url, { token: cast.owner.token });
    const heard = recordAll(watcher);
    for (let round = 0; round < 5; round++) {
      const target = await joinAs(node.url, cast.org, 'member', `removed-at-once-${round}`);
      const targetSocket = await connect(node.url, { token: target.token });
      const targetHeard = recordAll(targetSocket);
      const answers = await Promise.all(
        Array.from({ length: 6 }, () => call(node.url, 'DELETE', members(`/${target.user.id}`), { auth: cast.admin.token })),
      );
      const outcome = answers.map((a) => `${a.status} ${a.body?.error?.code ?? ''}`.trim()).sort();
      expect({ round, outcome }).toEqual({ round, outcome: ['204', ...Array(5).fill('404 NOT_FOUND')] });
      expect(await roleOf(target)).toBeNull();
      expect({ round, audit: (await auditOf(cast.org.id, target.user.id)).map((e) => e.action) }).toEqual({
        round,
        audit: ['member.added', 'member.removed'],
      });
      await barrier(watcher);
      await barrier(targetSocket);
      const removals = heard.filter(
        (e) => e.event === 'org:event' && e.payload.type === 'member.removed' && e.payload.data.userId === target.user.id,
      );
      expect({ round, broadcasts: removals.length }).toEqual({ round, broadcasts: 1 });
      expect({ round, kicks: targetHeard.filter((e) => e.event === 'access:revoked').length }).toEqual({ round, kicks: 1 });
    }
  });

  it('orders a role change and a removal of one member: the change lands before the removal, or is answered 404 and not logged', async () => {
    for (let round = 0; round < 8; round++) {
      const target = await joinAs(node.url, cast.org, 'member', `changed-and-removed-${round}`);
      const [changed, removed] = await Promise.all([
        call(node.url, 'PATCH', members(`/${target.user.id}`), { body: { role: 'viewer' }, auth: cast.admin.token }),
        call(node.url, 'DELETE', members(`/${target.user.id}`), { auth: cast.admin.token }),
      ]);
      expect({ round, removed: removed.status }).toEqual({ round, removed: 204 });
      expect(await roleOf(target)).toBeNull();
      const audit = (await auditOf(cast.org.id, target.user.id)).filter((e) => e.action !== 'member.added');
      if (changed.status === 200) {
        // The change committed first, so the removal found the member a viewer.
        expect({ round, audit }).toEqual({
          round,
          audit: [
            { action: 'member.removed', details: { role: 'viewer' } },
            { action: 'member.role_changed', details: { from: 'member', to: 'viewer' } },
          ],
        });
      } else {
        expect({ round, status: changed.status, code: changed.body?.error?.code }).toEqual({ round, status: 404, code: 'NOT_FOUND' });
        expect({ round, audit }).toEqual({ round, audit: [{ action: 'member.removed', details: { role: 'member' } }] });
      }
    }
  });
});

describe('ids in upper case', () => {
  it('lets a member leave with their own id in upper case, and announces the id as stored', async () => {
    const leaver = await joinAs(node.url, cast.org, 'member', 'upper-leaver');
    const leaverSocket = await connect(node.url, { token: leaver.token });
    const watcher = await connect(node.url, { token: cast.owner.token });
    const revoked = nextEvent(leaverSocket, 'access:revoked');
    const watcherHears = nextEvent(
      watcher,
      'org:event',
      (e) => e.type === 'member.removed' && e.data.userId.toLowerCase() === leaver.user.id,
    );
    const answer = await call(node.url, 'DELETE', members(`/${leaver.user.id.toUpperCase()}`), { auth: leaver.token });
    expect({ status: answer.status, code: answer.body?.error?.code }).toEqual({ status: 204, code: undefined });
    expect(await roleOf(leaver)).toBeNull();
    expect(await revoked).toEqual({ orgId: cast.org.id, reason: 'removed' });
    expect(await watcherHears).toEqual({ orgId: cast.org.id, type: 'member.removed', data: { userId: leaver.user.id } });
    const [entry] = await db.query<{ action: string; entity_id: string }>(
      "select action, entity_id from audit_logs where org_id = $1 and action = 'member.left' and lower(entity_id) = $2",
      [cast.org.id, leaver.user.id],
    );
    expect(entry).toEqual({ action: 'member.left', entity_id: leaver.user.id });
  });

  it("lets an admin change and remove a member by an upper-case id: the member's sockets are told and kicked", async () => {
    const target = await joinAs(node.url, cast.org, 'member', 'upper-removed');
    const targetSocket = await connect(node.url, { token: target.token });
    const upper = members(`/${target.user.id.toUpperCase()}`);
    const toldOfChange = nextEvent(targetSocket, 'org:event', (e) => e.type === 'member.role_changed');
    expect((await call(node.url, 'PATCH', upper, { body: { role: 'viewer' }, auth: cast.admin.token })).status).toBe(200);
    expect(await toldOfChange).toEqual({
      orgId: cast.org.id,
      type: 'member.role_changed',
      data: { userId: target.user.id, role: 'viewer' },
    });
    const revoked = nextEvent(targetSocket, 'access:revoked');
    expect((await call(node.url, 'DELETE', upper, { auth: cast.admin.token })).status).toBe(204);
    expect(await revoked).toEqual({ orgId: cast.org.id, reason: 'removed' });
    expect(await roleOf(target)).toBeNull();
  });
});

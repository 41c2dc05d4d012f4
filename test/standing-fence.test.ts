import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnJson, ProjectJson } from '../shared/wire.js';
import { createProject, type HttpAnswer } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { call, type Cast, castOrg, createKey, joinAs } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, request } from './support/sockets.js';

// Once a removal, a demotion, a key's revocation or the end of a user's sessions is answered,
// nothing its subject sent lands after it: a board change that waited for a busy board reads its
// author's standing again once the board's turn comes, and an invitation an admin was sending
// as they were removed commits before the removal (which then revokes it) or not at all.
let db: TestDatabase;
let node: RunningServer;
let cast: Cast;
let project: ProjectJson;
let columns: ColumnJson[];

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  cast = await castOrg(node.url);
  ({ project, columns } = await createProject(node.url, cast.org));
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

/** How many events of the board `actorId` made, as the log holds them now. */
const eventsBy = async (actorId: string) =>
  (await db.query(`select 1 from board_events where project_id = $1 and actor->>'id' = $2`, [project.id, actorId])).length;

/**
 * Sends a create from `socket` while a test session holds the board's row, so that it waits for
 * its turn (its author's standing read as its transaction opened); runs `decision` meanwhile, and
 * lets the board go once it is answered: answers the decision's answer and the create's.
 */
async function decidedWhileWaiting(socket: ClientSocket, decision: () => Promise<HttpAnswer>) {
  const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
  try {
    // A create takes the ORM's path, which reads the standing as its transaction opens.
    const create = request(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Under way' });
    await eventually(async () => expect(await lockWaiters(db)).toBe(1));
    const decided = await decision();
    await release();
    return { decided, create: await create };
  } finally {
    await release();
  }
}

describe('a board change waiting for a busy board', () => {
  it('is refused NOT_FOUND when its author is removed meanwhile, and nothing of it lands', async () => {
    const leaving = await joinAs(node.url, cast.org, 'member', 'leaving');
    const socket = await connect(node.url, { token: leaving.token });
    await ok(socket, 'board:join', { projectId: project.id });
    const { decided, create } = await decidedWhileWaiting(socket, () =>
      call(node.url, 'DELETE', `/orgs/${cast.org.slug}/members/${leaving.user.id}`, { auth: cast.owner.token }),
    );
    expect(decided.status).toBe(204);
    expect(create).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await eventsBy(leaving.user.id)).toBe(0);
  });

  it('is refused FORBIDDEN when its author is made a viewer meanwhile', async () => {
    const demoted = await joinAs(node.url, cast.org, 'member', 'demoted');
    const socket = await connect(node.url, { token: demoted.token });
    await ok(socket, 'board:join', { projectId: project.id });
    const { decided, create } = await decidedWhileWaiting(socket, () =>
      call(node.url, 'PATCH', `/orgs/${cast.org.slug}/members/${demoted.user.id}`, { body: { role: 'viewer' }, auth: cast.owner.token }),
    );
    expect(decided.status).toBe(200);
    expect(create).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(await eventsBy(demoted.user.id)).toBe(0);
  });

  it("is refused when its bot's key is revoked meanwhile", async () => {
    const bot = await createKey(node.url, cast.org, ['boards:read', 'tasks:write']);
    const socket = await connect(node.url, { apiKey: bot.key });
    await ok(socket, 'board:join', { projectId: project.id });
    const { decided, create } = await decidedWhileWaiting(socket, () =>
      call(node.url, 'DELETE', `/orgs/${cast.org.slug}/api-keys/${bot.apiKey.id}`, { auth: cast.owner.token }),
    );
    expect(decided.status).toBe(204);
    expect(create).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(await eventsBy(bot.apiKey.id)).toBe(0);
  });

  it("is refused UNAUTHORIZED when its author's sessions are ended meanwhile", async () => {
    const leaked = await joinAs(node.url, cast.org, 'member', 'leaked');
    const socket = await connect(node.url, { token: leaked.token });
    await ok(socket, 'board:join', { projectId: project.id });
    const { decided, create } = await decidedWhileWaiting(socket, () =>
      call(node.url, 'POST', '/auth/sign-out-others', { auth: leaked.token }),
    );
    expect(decided.status).toBe(200);
    expect(create).toMatchObject({ ok: false, error: { code: 'UNAUTHORIZED' } });
    expect(await eventsBy(leaked.user.id)).toBe(0);
  });
});

describe('an invitation an admin is sending as they are removed', () => {
  it('is revoked by the removal, which waits for it: registering the address makes no admin', async () => {
    const removed = await joinAs(node.url, cast.org, 'admin', 'removed-admin');
    const address = `comeback-${Date.now()}@example.test`;
    // The invitation's transaction takes the address's lock once the admin's standing is read.
    const release = await holdLock(db, `select pg_advisory_xact_lock(7401, hashtext('${address}'))`);
    let removal: Promise<HttpAnswer> | undefined;
    try {
      const invitation = call(node.url, 'POST', `/orgs/${cast.org.slug}/invites`, {
        body: { email: address, role: 'admin' },
        auth: removed.token,
      });
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      let answered = false;
      removal = call(node.url, 'DELETE', `/orgs/${cast.org.slug}/members/${removed.user.id}`, { auth: cast.owner.token }).finally(
        () => (answered = true),
      );
      // The removal waits for the invitation (two sessions waiting); unheld, it is answered at once.
      await eventually(async () => expect(answered || (await lockWaiters(db)) === 2).toBe(true));
      await release();
      expect((await invitation).status).toBe(202);
      expect((await removal).status).toBe(204);
    } finally {
      await release();
    }
    const pending = await call(node.url, 'GET', `/orgs/${cast.org.slug}/invites`, { auth: cast.owner.token });
    expect(pending.body.map((invite: { email: string }) => invite.email)).not.toContain(address);
    const comeback = await call(node.url, 'POST', '/auth/register', {
      body: { email: address, password: 'correct horse battery', name: 'Back' },
    });
    expect(comeback.status).toBe(201);
    expect(await db.query('select role from memberships where user_id = $1', [comeback.body.user.id])).toEqual([]);
  });
});

describe("a label's deletion waiting for a busy board", () => {
  it('is refused when its author is removed meanwhile, and the label stays', async () => {
    const leaving = await joinAs(node.url, cast.org, 'member', 'label-remover');
    const label = await call(node.url, 'POST', `/orgs/${cast.org.slug}/labels`, {
      body: { name: `doomed ${Date.now()}`, color: '#d73a4a' },
      auth: cast.owner.token,
    });
    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    try {
      // It takes every board of the org before the label: it waits here, its standing read as it opened.
      const deletion = call(node.url, 'DELETE', `/orgs/${cast.org.slug}/labels/${label.body.id}`, { auth: leaving.token });
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      const removal = await call(node.url, 'DELETE', `/orgs/${cast.org.slug}/members/${leaving.user.id}`, { auth: cast.owner.token });
      expect(removal.status).toBe(204);
      await release();
      expect(await deletion).toMatchObject({ status: 403 });
    } finally {
      await release();
    }
    expect(await db.query('select 1 from labels where id = $1', [label.body.id])).toHaveLength(1);
  });
});

describe("the org's deletion while an admin's invitation is under way", () => {
  it('waits for the invitation, then deletes the org with it: no deadlock, both answered', async () => {
    const doomed = await castOrg(node.url);
    const address = `late-${Date.now()}@example.test`;
    const release = await holdLock(db, `select pg_advisory_xact_lock(7401, hashtext('${address}'))`);
    try {
      const invitation = call(node.url, 'POST', `/orgs/${doomed.org.slug}/invites`, {
        body: { email: address, role: 'member' },
        auth: doomed.admin.token,
      });
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      const deletion = call(node.url, 'DELETE', `/orgs/${doomed.org.slug}`, { auth: doomed.owner.token });
      await eventually(async () => expect(await lockWaiters(db)).toBe(2)); // the deletion waits for the admin's membership
      await release();
      expect((await invitation).status).toBe(202);
      expect((await deletion).status).toBe(204);
    } finally {
      await release();
    }
    expect(await db.query('select 1 from invites where email = $1', [address])).toEqual([]);
  });
});

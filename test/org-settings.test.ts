import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createOrg, createProject } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
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
  tenantTables,
} from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, nextEvent, ok, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let cast: Cast;
let readKey: CreatedKey;
let allKey: CreatedKey;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  cast = await castOrg(node.url);
  readKey = await createKey(node.url, cast.org, ['boards:read']);
  allKey = await createKey(node.url, cast.org, ['boards:read', 'tasks:write', 'projects:write']);
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

const orgPath = () => `/orgs/${cast.org.slug}`;

async function orgRow() {
  const [row] = await db.query<{ name: string; plan: string; settings: unknown; billing_email: string | null }>(
    'select name, plan, settings, billing_email from organizations where id = $1',
    [cast.org.id],
  );
  return row!;
}

describe('reading the org', () => {
  it('answers the creator of an org with what an owner sees: settings and billing email too', async () => {
    const answer = await api(node.url, 'POST', '/orgs', { name: 'Fresh' }, cast.outsider.token);
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({
      org: {
        id: expect.any(String),
        slug: expect.any(String),
        name: 'Fresh',
        plan: 'free',
        settings: {},
        billingEmail: cast.outsider.email,
      },
      role: 'owner',
    });
    const read = await api(node.url, 'GET', `/orgs/${answer.body.org.slug}`, undefined, cast.outsider.token);
    expect(read.body).toEqual(answer.body.org);
  });

  it("makes an org's slug, when none is given, of its name's letters without their accents, and a few random ones when that is taken", async () => {
    const slugOf = async (name: string) => (await api(node.url, 'POST', '/orgs', { name }, cast.outsider.token)).body.org.slug;
    expect(await slugOf('Zürich Labs')).toBe('zurich-labs');
    expect(await slugOf('Zürich Labs')).toMatch(/^zurich-labs-[0-9a-f]{6}$/);
    expect(await slugOf('Crème Brûlée')).toBe('creme-brulee');
    expect(await slugOf('東京')).toMatch(/^org(-[0-9a-f]{6})?$/); // no letter to keep: `org`, taken by then or not
    expect(await slugOf('New')).toBe('new-org'); // `/orgs/new` is the web board's form for a new org
    expect(await slugOf(`${'a'.repeat(49)} b`)).toBe('a'.repeat(49)); // cut at 50, and no dash left at its end
  });

  it('shows members, viewers and bots {id, slug, name, plan}, and admins and owners also settings and billing email', async () => {
    const row = await orgRow();
    const basic = { id: cast.org.id, slug: cast.org.slug, name: row.name, plan: row.plan };
    for (const auth of [cast.member.token, cast.viewer.token, readKey.key]) {
      const answer = await call(node.url, 'GET', orgPath(), { auth });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual(basic);
    }
    for (const auth of [cast.admin.token, cast.owner.token]) {
      const answer = await call(node.url, 'GET', orgPath(), { auth });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ ...basic, settings: row.settings, billingEmail: row.billing_email });
    }
  });

  it("uses the creator's email as the billing email of a new org", async () => {
    const org = await createOrg(node.url, cast.outsider);
    const answer = await call(node.url, 'GET', `/orgs/${org.slug}`, { auth: cast.outsider.token });
    expect(answer.body).toMatchObject({ billingEmail: cast.outsider.email, plan: 'free', settings: {} });
    expect((await call(node.url, 'GET', orgPath(), { auth: cast.owner.token })).body.billingEmail).toBe(cast.owner.email);
  });

  it('refuses a non-member and another org (403); an unknown slug is 404', async () => {
    await expectAllRefused(
      db,
      cast.org.id,
      [
        { who: 'non-member', auth: cast.outsider.token },
        { who: "another org's admin", auth: cast.otherAdmin.token },
      ],
      (auth) => call(node.url, 'GET', orgPath(), { auth }),
    );
    expect((await call(node.url, 'GET', '/orgs/no-such-org', { auth: cast.owner.token })).status).toBe(404);
  });
});

describe('updating the org', () => {
  it('lets an admin change the name and settings', async () => {
    const answer = await call(node.url, 'PATCH', orgPath(), {
      body: { name: 'Renamed by admin', settings: { theme: 'dark' } },
      auth: cast.admin.token,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ id: cast.org.id, name: 'Renamed by admin', settings: { theme: 'dark' } });
    expect(await orgRow()).toMatchObject({ name: 'Renamed by admin', settings: { theme: 'dark' } });
  });

  it('refuses settings holding a number JSON text can write but not hold (1e400): VALIDATION_FAILED, nothing stored as null', async () => {
    const before = await orgRow();
    for (const number of ['1e400', '-1e309']) {
      const answer = await fetch(`${node.url}/api/v1${orgPath()}`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${cast.admin.token}`, 'content-type': 'application/json' },
        body: `{"settings":{"limits":{"tasks":${number}}}}`,
      });
      expect(answer.status).toBe(400);
      expect(await answer.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
    expect(await orgRow()).toEqual(before);
  });

  it('refuses an admin who changes the plan or the billing email, even along with the name', async () => {
    for (const body of [{ plan: 'pro' }, { billingEmail: 'admin@example.test' }, { name: 'Sneaky', plan: 'enterprise' }]) {
      await expectAllRefused(db, cast.org.id, [{ who: 'admin', auth: cast.admin.token }], (auth) =>
        call(node.url, 'PATCH', orgPath(), { body, auth }),
      );
    }
  });

  it('lets an owner change the plan and the billing email', async () => {
    const answer = await call(node.url, 'PATCH', orgPath(), {
      body: { plan: 'pro', billingEmail: 'billing@example.test' },
      auth: cast.owner.token,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ plan: 'pro', billingEmail: 'billing@example.test' });
    expect(await orgRow()).toMatchObject({ plan: 'pro', billing_email: 'billing@example.test' });
  });

  it('refuses members, viewers, outsiders, another org and any key', async () => {
    await expectAllRefused(
      db,
      cast.org.id,
      [
        { who: 'member', auth: cast.member.token },
        { who: 'viewer', auth: cast.viewer.token },
        { who: 'non-member', auth: cast.outsider.token },
        { who: "another org's admin", auth: cast.otherAdmin.token },
        { who: 'bot with every permission', auth: allKey.key },
      ],
      (auth) => call(node.url, 'PATCH', orgPath(), { body: { name: 'Taken over' }, auth }),
    );
  });

  it('refuses keys the schema does not name, and an empty change, with 400', async () => {
    for (const body of [{ slug: 'new-slug' }, { name: 'x', id: cast.otherOrg.id }, { seats: 10 }, {}]) {
      await expectAllRefused(
        db,
        cast.org.id,
        [{ who: 'owner', auth: cast.owner.token }],
        (auth) => call(node.url, 'PATCH', orgPath(), { body, auth }),
        400,
      );
    }
  });
});

describe('deleting the org', () => {
  it('is refused to everyone but an owner, and then removes every row of the org and tells its sockets', async () => {
    const doomed = await createOrg(node.url, cast.outsider);
    const [doomedAdmin, doomedMember, doomedViewer] = [
      await joinAs(node.url, doomed, 'admin', 'doomed-admin'),
      await joinAs(node.url, doomed, 'member', 'doomed-member'),
      await joinAs(node.url, doomed, 'viewer', 'doomed-viewer'),
    ];
    // Something in every tenant table: a board with a task, an invitation, a key, the audit log.
    const { project, columns } = await createProject(node.url, doomed);
    await call(node.url, 'POST', `/orgs/${doomed.slug}/invites`, {
      body: { email: 'pending@example.test', role: 'member' },
      auth: doomed.owner.token,
    });
    const key = await createKey(node.url, doomed, ['boards:read', 'tasks:write', 'projects:write']);
    const created = await call(node.url, 'POST', `/orgs/${doomed.slug}/projects/${project.id}/tasks`, {
      body: { columnId: columns[0]!.id, title: 'doomed task' },
      auth: key.key,
    });
    expect(created.status).toBe(201);

    await expectAllRefused(
      db,
      doomed.id,
      [
        { who: 'admin', auth: doomedAdmin.token },
        { who: 'member', auth: doomedMember.token },
        { who: 'viewer', auth: doomedViewer.token },
        { who: 'non-member', auth: cast.member.token },
        { who: "another org's admin", auth: cast.admin.token },
        { who: 'bot with every permission', auth: key.key },
      ],
      (auth) => call(node.url, 'DELETE', `/orgs/${doomed.slug}`, { auth }),
    );

    const sockets = await Promise.all(
      [doomed.owner, doomedAdmin, doomedMember, doomedViewer].map((u) => connect(node.url, { token: u.token })),
    );
    sockets.push(await connect(node.url, { apiKey: key.key }));
    await ok(sockets[2]!, 'board:join', { projectId: project.id });
    const revoked = sockets.map((socket) => nextEvent(socket, 'access:revoked'));
    const botGone = new Promise((resolve) => sockets[4]!.once('disconnect', resolve));
    const bystander = await connect(node.url, { token: cast.owner.token });
    const bystanderSeen = recordAll(bystander);

    const answer = await call(node.url, 'DELETE', `/orgs/${doomed.slug}`, { auth: doomed.owner.token });
    expect(answer.status).toBe(204);
    for (const got of revoked) expect(await got).toEqual({ orgId: doomed.id, reason: 'org_deleted' });
    // The bot's key died with its org: its socket is closed, as a revoked key's is; people stay connected.
    expect(await botGone).toBe('io server disconnect');
    expect(sockets.slice(0, 4).map((socket) => socket.connected)).toEqual([true, true, true, true]);

    expect((await call(node.url, 'GET', `/orgs/${doomed.slug}`, { auth: doomed.owner.token })).status).toBe(404);
    expect((await call(node.url, 'GET', `/orgs/${doomed.slug}/projects`, { auth: doomedMember.token })).status).toBe(404);
    expect(await db.query('select id from organizations where id = $1', [doomed.id])).toEqual([]);
    const tables = await tenantTables(db);
    expect(tables).toEqual(
      expect.arrayContaining(['memberships', 'projects', 'board_columns', 'tasks', 'board_events', 'invites', 'api_keys', 'audit_logs']),
    );
    for (const table of tables) {
      expect({ table, rows: await db.query(`select * from "${table}" where org_id = $1`, [doomed.id]) }).toEqual({ table, rows: [] });
    }
    expect(await request(sockets[2]!, 'board:join', { projectId: project.id })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect((await call(node.url, 'GET', '/me', { auth: doomedMember.token })).body.memberships).toEqual([]);
    expect((await call(node.url, 'GET', `/orgs/${doomed.slug}/projects`, { auth: key.key })).status).toBe(401);
    await barrier(bystander);
    expect(bystanderSeen).toEqual([]);
  });

  it('is done once when several owners delete it at once: one 204, the others 404 as a moment later', async () => {
    const doomed = await createOrg(node.url, cast.outsider);
    await createProject(node.url, doomed);
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => call(node.url, 'DELETE', `/orgs/${doomed.slug}`, { auth: doomed.owner.token })),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([204, 404, 404, 404]);
    expect(answers.find((answer) => answer.status === 404)!.body.error.code).toBe('NOT_FOUND');
  });

  it('answers every write that races it with a code of the contract, never INTERNAL', async () => {
    // Each write reads the org and then writes under its foreign key; the delete may land between.
    const answers: Array<{ status: number; code?: string }> = [];
    for (let round = 0; round < 3; round++) {
      const doomed = await createOrg(node.url, cast.outsider);
      const { project, columns } = await createProject(node.url, doomed);
      const path = `/orgs/${doomed.slug}`;
      const auth = doomed.owner.token;
      const writes = Array.from({ length: 10 }, (_, i) => [
        call(node.url, 'POST', `${path}/projects`, { body: { name: `p${i}` }, auth }),
        call(node.url, 'POST', `${path}/projects/${project.id}/tasks`, { body: { columnId: columns[0]!.id, title: `t${i}` }, auth }),
        call(node.url, 'POST', `${path}/labels`, { body: { name: `l${i}`, color: '#000000' }, auth }),
        call(node.url, 'POST', `${path}/api-keys`, { body: { name: `k${i}`, permissions: ['boards:read'] }, auth }),
        call(node.url, 'PATCH', path, { body: { name: `n${i}` }, auth }),
        ...(i === 3 ? [call(node.url, 'DELETE', path, { auth })] : []),
      ]).flat();
      for (const answer of await Promise.all(writes)) answers.push({ status: answer.status, code: answer.body?.error?.code });
      expect(await db.query('select id from organizations where id = $1', [doomed.id])).toEqual([]);
    }
    // Before the delete: done; after it: the org, or the caller's membership, is gone. No deadlock, no INTERNAL.
    const unexpected = answers.filter((a) => !(a.status < 300 || a.code === 'NOT_FOUND' || a.code === 'FORBIDDEN'));
    expect(unexpected).toEqual([]);
  });
});

describe('updating a project', () => {
  it('lets a member rename it: a project.updated board event, the row in PostgreSQL', async () => {
    const { project } = await createProject(node.url, cast.org, 'Before');
    const watcher = await connect(node.url, { token: cast.viewer.token });
    await ok(watcher, 'board:join', { projectId: project.id });
    const event = nextEvent(watcher, 'board:event', (e) => e.type === 'project.updated');
    const answer = await call(node.url, 'PATCH', `/orgs/${cast.org.slug}/projects/${project.id}`, {
      body: { name: 'After', description: 'now described' },
      auth: cast.member.token,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      id: project.id,
      name: 'After',
      description: 'now described',
      status: 'active',
      seq: project.seq + 1,
    });
    expect(await event).toMatchObject({
      projectId: project.id,
      seq: project.seq + 1,
      actor: { kind: 'user', id: cast.member.user.id },
      data: { project: { id: project.id, name: 'After' } },
    });
    expect(Object.keys((await event).data)).toEqual(['project']); // DESIGN §7: `{project}`, nothing more
    expect(await db.query('select name, description, seq from projects where id = $1', [project.id])).toEqual([
      { name: 'After', description: 'now described', seq: project.seq + 1 },
    ]);
  });

  it('answers an update that changes nothing with the board as it stands: its seq, no event', async () => {
    const { project } = await createProject(node.url, cast.org, 'Steady');
    const path = `/orgs/${cast.org.slug}/projects/${project.id}`;
    const described = await call(node.url, 'PATCH', path, { body: { description: 'described' }, auth: cast.member.token });
    expect(described.body.seq).toBe(project.seq + 1);
    for (const body of [{ status: 'active' }, { name: 'Steady' }, { description: 'described' }, { name: 'Steady', status: 'active' }]) {
      const answer = await call(node.url, 'PATCH', path, { body, auth: cast.member.token });
      expect(answer.status).toBe(200);
      // A client takes the answer's seq as where it stands: one too many would drop the next event.
      expect(answer.body).toMatchObject({ id: project.id, name: 'Steady', description: 'described', seq: project.seq + 1 });
    }
    expect(await db.query('select seq from projects where id = $1', [project.id])).toEqual([{ seq: project.seq + 1 }]);
    expect(await db.query('select seq from board_events where project_id = $1 order by seq', [project.id])).toEqual([
      { seq: project.seq + 1 },
    ]);
  });

  it('refuses viewers, outsiders, another org, and a key without projects:write; allows a key with it', async () => {
    const { project } = await createProject(node.url, cast.org, 'Guarded');
    const path = `/orgs/${cast.org.slug}/projects/${project.id}`;
    for (const body of [{ name: 'Hijacked' }, { status: 'archived' }]) {
      await expectAllRefused(
        db,
        cast.org.id,
        [
          { who: 'viewer', auth: cast.viewer.token },
          { who: 'non-member', auth: cast.outsider.token },
          { who: "another org's admin", auth: cast.otherAdmin.token },
          { who: 'key with boards:read only', auth: readKey.key },
        ],
        (auth) => call(node.url, 'PATCH', path, { body, auth }),
      );
    }
    const byBot = await call(node.url, 'PATCH', path, { body: { name: 'Renamed by bot' }, auth: allKey.key });
    expect(byBot.status).toBe(200);
    expect(byBot.body.name).toBe('Renamed by bot');
  });

  it("answers 404 for another org's project named through this org, and 400 for an unknown key", async () => {
    const { project: foreign } = await createProject(node.url, cast.otherOrg, 'Foreign');
    const before = await orgRows(db, cast.otherOrg.id);
    const answer = await call(node.url, 'PATCH', `/orgs/${cast.org.slug}/projects/${foreign.id}`, {
      body: { name: 'x' },
      auth: cast.owner.token,
    });
    expect(answer.status).toBe(404);
    expect(await orgRows(db, cast.otherOrg.id)).toEqual(before);
    const { project } = await createProject(node.url, cast.org, 'Strict');
    await expectAllRefused(
      db,
      cast.org.id,
      [{ who: 'owner', auth: cast.owner.token }],
      (auth) => call(node.url, 'PATCH', `/orgs/${cast.org.slug}/projects/${project.id}`, { body: { name: 'x', seq: 99 }, auth }),
      400,
    );
  });

  it('archives: org:event project.archived and board:event project.updated; then every change is FORBIDDEN until it is unarchived', async () => {
    const { project, columns } = await createProject(node.url, cast.org, 'To archive');
    const memberSocket = await connect(node.url, { token: cast.member.token });
    const ownerSocket = await connect(node.url, { token: cast.owner.token });
    await ok(ownerSocket, 'board:join', { projectId: project.id });
    await ok(memberSocket, 'board:join', { projectId: project.id });
    const { task } = await ok(memberSocket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'existing' });

    const orgEvent = nextEvent(ownerSocket, 'org:event', (e) => e.type === 'project.archived');
    const boardEvent = nextEvent(ownerSocket, 'board:event', (e) => e.type === 'project.updated');
    const archived = await call(node.url, 'PATCH', `/orgs/${cast.org.slug}/projects/${project.id}`, {
      body: { status: 'archived' },
      auth: cast.member.token,
    });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ id: project.id, status: 'archived' });
    expect(await orgEvent).toMatchObject({
      orgId: cast.org.id,
      type: 'project.archived',
      data: { project: { id: project.id, status: 'archived' } },
    });
    expect(await boardEvent).toMatchObject({ projectId: project.id, data: { project: { status: 'archived' } } });

    const before = await orgRows(db, cast.org.id);
    const refusals = [
      await request(memberSocket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'on archived' }),
      await request(memberSocket, 'task:update', { taskId: task.id, patch: { title: 'changed' } }),
      await request(memberSocket, 'task:move', { taskId: task.id, columnId: columns[1]!.id }),
      await request(memberSocket, 'task:delete', { taskId: task.id }),
      await request(ownerSocket, 'column:create', { projectId: project.id, name: 'More' }),
      await request(ownerSocket, 'column:update', { columnId: columns[0]!.id, patch: { name: 'Renamed' } }),
    ];
    for (const refusal of refusals) expect(refusal).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    const http = await call(node.url, 'POST', `/orgs/${cast.org.slug}/projects/${project.id}/tasks`, {
      body: { columnId: columns[0]!.id, title: 'over HTTP' },
      auth: cast.owner.token,
    });
    expect(http.status).toBe(403);
    const httpPatch = await call(node.url, 'PATCH', `/orgs/${cast.org.slug}/tasks/${task.id}`, { body: { title: 'x' }, auth: allKey.key });
    expect(httpPatch.status).toBe(403);
    for (const body of [
      { name: 'Renamed while archived' },
      { description: 'Described while archived' },
      { name: 'x', status: 'archived' },
    ]) {
      const projectPatch = await call(node.url, 'PATCH', `/orgs/${cast.org.slug}/projects/${project.id}`, {
        body,
        auth: cast.member.token,
      });
      expect({ body, status: projectPatch.status, code: projectPatch.body.error?.code }).toEqual({ body, status: 403, code: 'FORBIDDEN' });
    }
    expect(
      (
        await call(node.url, 'PATCH', `/orgs/${cast.org.slug}/projects/${project.id}`, {
          body: { status: 'archived' },
          auth: cast.member.token,
        })
      ).status,
    ).toBe(200); // archived already: nothing to change
    expect(await orgRows(db, cast.org.id)).toEqual(before);
    expect(await ok(memberSocket, 'board:join', { projectId: project.id })).toMatchObject({ project: { status: 'archived' } });

    const unarchived = await call(node.url, 'PATCH', `/orgs/${cast.org.slug}/projects/${project.id}`, {
      body: { status: 'active', name: 'Back in use' },
      auth: cast.member.token,
    });
    expect(unarchived.status).toBe(200);
    expect(unarchived.body).toMatchObject({ status: 'active', name: 'Back in use' });
    expect((await request(memberSocket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'back' })).ok).toBe(true);
    expect(await db.query('select status from projects where id = $1', [project.id])).toEqual([{ status: 'active' }]);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from '../shared/wire.js';
import type { AuditEntryJson } from '../shared/wire.js';
import { registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { call, type Cast, castOrg, type CreatedKey, expectAllRefused } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';

/**
 * One org whose whole history this file makes, each administrative action with a user agent of
 * its own, so that the log can be checked entry by entry: one per action, in order, and nothing else.
 */

interface Done {
  action: string;
  actor: { kind: 'user' | 'bot'; id: string; name: string };
  /** Null where the entry must carry no address: a join by signing up. */
  userAgent: string | null;
  entityId?: string;
}

let db: TestDatabase;
let node: RunningServer;
let cast: Cast;
let org: TestOrg;
let owner: TestUser;
let admin: TestUser;
let member: TestUser;
let viewer: TestUser;
let bot: CreatedKey;
let joiner: Done['actor'];
/** What this file did in `org`, oldest first. */
const done: Done[] = [];

const asUser = (user: TestUser) => ({ kind: 'user' as const, id: user.user.id, name: user.user.name });

/** Does an administrative action over HTTP and notes the entry it should leave. */
async function act(
  action: string,
  by: TestUser | CreatedKey,
  method: string,
  path: string,
  body: unknown,
  expectStatus: number,
  entityId?: (answer: any) => string,
): Promise<any> {
  const userAgent = `audit-test/${done.length + 1} (${action})`;
  const auth = 'key' in by ? by.key : by.token;
  const answer = await call(node.url, method, path, { body, auth, userAgent });
  expect({ action, status: answer.status }).toEqual({ action, status: expectStatus });
  const actor = 'key' in by ? { kind: 'bot' as const, id: by.apiKey.id, name: by.apiKey.name } : asUser(by);
  done.push({ action, actor, userAgent, entityId: entityId?.(answer.body) });
  return answer.body;
}

async function log(query: string, auth = admin.token) {
  return call<{ entries: AuditEntryJson[]; nextCursor: string | null }>(node.url, 'GET', `/orgs/${org.slug}/audit-log${query}`, { auth });
}

async function walk(query: string, limit: number): Promise<{ entries: AuditEntryJson[]; pages: number }> {
  const entries: AuditEntryJson[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const sep = query ? '&' : '?';
    const answer = await log(`${query}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(answer.status).toBe(200);
    expect(answer.body.entries.length).toBeLessThanOrEqual(limit);
    entries.push(...answer.body.entries);
    cursor = answer.body.nextCursor;
    pages += 1;
    expect(pages).toBeLessThan(200);
  } while (cursor);
  return { entries, pages };
}

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  cast = await castOrg(node.url); // the other org, whose entries must never show here
  [owner, admin, member, viewer] = await Promise.all(['owner', 'admin', 'member', 'viewer'].map((name) => registerUser(node.url, name)));
  const [leaver, removed, promoted] = await Promise.all(['leaver', 'removed', 'promoted'].map((name) => registerUser(node.url, name)));

  const created = await act('org.created', owner, 'POST', '/orgs', { name: 'Audited' }, 201, (b) => b.org.id);
  org = { id: created.org.id, slug: created.org.slug, owner };
  const orgs = `/orgs/${org.slug}`;
  const memberId = (b: any) => b.member.user.id;
  await act('member.added', owner, 'POST', `${orgs}/invites`, { email: admin.email, role: 'admin' }, 201, memberId);
  await act('member.added', admin, 'POST', `${orgs}/invites`, { email: member.email, role: 'member' }, 201, memberId);
  for (const user of [viewer, leaver, removed, promoted]) {
    await act('member.added', admin, 'POST', `${orgs}/invites`, { email: user.email, role: 'viewer' }, 201, memberId);
  }
  const invited = await act(
    'member.invited',
    admin,
    'POST',
    `${orgs}/invites`,
    { email: 'later@example.test', role: 'member' },
    202,
    (b) => b.invite.id,
  );
  await act('invite.revoked', owner, 'DELETE', `${orgs}/invites/${invited.invite.id}`, undefined, 204, () => invited.invite.id);
  // Accepting an invitation by signing up is the new member's own action, but the sign-up was a
  // request to the server, not to the org: its entry carries no address. The other org invited
  // the same address (any org may), and learns no more of it.
  await act('member.invited', admin, 'POST', `${orgs}/invites`, { email: 'joiner@example.test', role: 'viewer' }, 202, (b) => b.invite.id);
  const elsewhere = { body: { email: 'joiner@example.test', role: 'viewer' }, auth: cast.otherAdmin.token };
  expect((await call(node.url, 'POST', `/orgs/${cast.otherOrg.slug}/invites`, elsewhere)).status).toBe(202);
  const joined = await call(node.url, 'POST', '/auth/register', {
    body: { email: 'Joiner@example.test', password: 'correct horse battery', name: 'joiner' },
    userAgent: 'audit-test (signing up)',
  });
  expect(joined.status).toBe(201);
  joiner = { kind: 'user', id: joined.body.user.id, name: 'joiner' };
  done.push({ action: 'member.added', actor: joiner, userAgent: null, entityId: joiner.id });
  await act('member.role_changed', admin, 'PATCH', `${orgs}/members/${promoted.user.id}`, { role: 'member' }, 200, () => promoted.user.id);
  await act('member.removed', admin, 'DELETE', `${orgs}/members/${removed.user.id}`, undefined, 204, () => removed.user.id);
  await act('member.left', leaver, 'DELETE', `${orgs}/members/${leaver.user.id}`, undefined, 204, () => leaver.user.id);
  await act('org.updated', admin, 'PATCH', orgs, { name: 'Audited, renamed', settings: { theme: 'dark' } }, 200, () => org.id);
  await act('org.updated', owner, 'PATCH', orgs, { plan: 'pro' }, 200, () => org.id);
  const key = await act(
    'api_key.created',
    admin,
    'POST',
    `${orgs}/api-keys`,
    { name: 'audit bot', permissions: ['projects:write'] },
    201,
    (b) => b.apiKey.id,
  );
  bot = key;
  const doomedKey = await act(
    'api_key.created',
    owner,
    'POST',
    `${orgs}/api-keys`,
    { name: 'short-lived', permissions: ['boards:read'] },
    201,
    (b) => b.apiKey.id,
  );
  await act('api_key.revoked', admin, 'DELETE', `${orgs}/api-keys/${doomedKey.apiKey.id}`, undefined, 204, () => doomedKey.apiKey.id);
  const hook = await act(
    'webhook.created',
    admin,
    'POST',
    `${orgs}/webhooks`,
    { url: 'https://hooks.example.test/audited' },
    201,
    (b) => b.webhook.id,
  );
  await act(
    'webhook.secret_rotated',
    admin,
    'POST',
    `${orgs}/webhooks/${hook.webhook.id}/rotate-secret`,
    undefined,
    200,
    () => hook.webhook.id,
  );
  await act('webhook.deleted', owner, 'DELETE', `${orgs}/webhooks/${hook.webhook.id}`, undefined, 204, () => hook.webhook.id);
  const project = await act('project.created', member, 'POST', `${orgs}/projects`, { name: 'Audited board' }, 201, (b) => b.project.id);
  const projectPath = `${orgs}/projects/${project.project.id}`;
  await act('project.updated', member, 'PATCH', projectPath, { name: 'Audited board, renamed' }, 200, () => project.project.id);
  await act('project.updated', bot, 'PATCH', projectPath, { description: 'by the bot' }, 200, () => project.project.id);
  await act('project.archived', member, 'PATCH', projectPath, { status: 'archived' }, 200, () => project.project.id);

  // Activity elsewhere, by people who are also in this org: none of it belongs to this org's log.
  await call(node.url, 'PATCH', `/orgs/${cast.otherOrg.slug}`, { body: { name: 'Other, renamed' }, auth: cast.otherAdmin.token });
  await call(node.url, 'POST', `/orgs/${cast.otherOrg.slug}/invites`, {
    body: { email: admin.email, role: 'viewer' },
    auth: cast.otherAdmin.token,
  });
  await call(node.url, 'POST', `/orgs/${cast.otherOrg.slug}/projects`, { body: { name: 'Other board' }, auth: admin.token });
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

describe('the audit log', () => {
  it('holds exactly one entry per administrative action, newest first, with actor, ip and user agent', async () => {
    const answer = await log('?limit=200');
    expect(answer.status).toBe(200);
    expect(answer.body.nextCursor).toBeNull();
    const expected = [...done].reverse();
    expect(answer.body.entries.map((e) => e.action)).toEqual(expected.map((d) => d.action));
    answer.body.entries.forEach((entry, i) => {
      const want = expected[i]!;
      expect(entry).toMatchObject({
        action: want.action,
        actor: want.actor,
        userAgent: want.userAgent,
        ip: want.userAgent === null ? null : expect.stringMatching(/127\.0\.0\.1$/),
      });
      if (want.entityId)
        expect({ action: want.action, entityId: entry.entityId }).toEqual({ action: want.action, entityId: want.entityId });
      expect(Number.isNaN(Date.parse(entry.createdAt))).toBe(false);
    });
    const times = answer.body.entries.map((e) => Date.parse(e.createdAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));

    const rows = await db.query<{ action: string; user_agent: string }>('select action, user_agent from audit_logs where org_id = $1', [
      org.id,
    ]);
    expect(rows).toHaveLength(done.length);
    for (const d of done) expect(rows.filter((r) => r.user_agent === d.userAgent)).toEqual([{ action: d.action, user_agent: d.userAgent }]);
  });

  it('covers every action of the design but the deletion of the org (which takes its log with it)', () => {
    // Every action the server can log (an action added without a case here fails this test).
    expect(new Set(done.map((d) => d.action))).toEqual(new Set(AUDIT_ACTIONS.filter((action) => action !== 'org.deleted')));
  });

  it('filters by action', async () => {
    for (const action of ['member.added', 'project.updated', 'member.left', 'org.deleted']) {
      const answer = await log(`?action=${action}&limit=200`);
      expect(answer.status).toBe(200);
      const want = done.filter((d) => d.action === action).reverse();
      expect(answer.body.entries.map((e) => [e.action, e.userAgent])).toEqual(want.map((d) => [d.action, d.userAgent]));
    }
  });

  it('filters by the user who acted', async () => {
    for (const user of [owner, admin, member, cast.otherAdmin]) {
      const answer = await log(`?userId=${user.user.id}&limit=200`);
      expect(answer.status).toBe(200);
      const want = done.filter((d) => d.actor.id === user.user.id).reverse();
      expect(answer.body.entries.map((e) => e.userAgent)).toEqual(want.map((d) => d.userAgent));
    }
    const byBot = await log(`?userId=${bot.apiKey.id}`);
    expect(byBot.body.entries.map((e) => e.actor)).toEqual([{ kind: 'bot', id: bot.apiKey.id, name: 'audit bot' }]);
  });

  it('filters by time: entries at or after `since`', async () => {
    const all = (await log('?limit=200')).body.entries;
    for (const at of [all[0]!.createdAt, all[5]!.createdAt, all.at(-1)!.createdAt, new Date(Date.now() + 60_000).toISOString()]) {
      const answer = await log(`?since=${encodeURIComponent(at)}&limit=200`);
      expect(answer.status).toBe(200);
      expect(answer.body.entries.map((e) => e.id)).toEqual(all.filter((e) => Date.parse(e.createdAt) >= Date.parse(at)).map((e) => e.id));
    }
    const combined = await log(`?action=member.added&since=${encodeURIComponent(all.at(-3)!.createdAt)}`);
    expect(combined.body.entries.map((e) => e.id)).toEqual(
      all.filter((e) => e.action === 'member.added' && Date.parse(e.createdAt) >= Date.parse(all.at(-3)!.createdAt)).map((e) => e.id),
    );
  });

  it('walks every entry exactly once, page by page, for any page size and with a filter', async () => {
    const all = (await log('?limit=200')).body.entries.map((e) => e.id);
    for (const limit of [1, 2, 3, 7, done.length, done.length + 1]) {
      const { entries, pages } = await walk('', limit);
      const ids = entries.map((e) => e.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(all);
      expect(pages).toBe(Math.max(1, Math.ceil(all.length / limit)));
    }
    const added = await walk('?action=member.added', 2);
    expect(added.entries.map((e) => e.userAgent)).toEqual(
      done
        .filter((d) => d.action === 'member.added')
        .reverse()
        .map((d) => d.userAgent),
    );
  });

  it('refuses a cursor it did not give, and a bad query, with 400', async () => {
    const forged = [
      'garbage',
      Buffer.from('not a date|nor an id').toString('base64url'),
      Buffer.from(`${new Date().toISOString()}|1; drop table audit_logs`).toString('base64url'),
      Buffer.from(`${new Date().toISOString()}`).toString('base64url'),
      // Readable as a time and an id, but never written by the server: not its time format, or more parts.
      Buffer.from(`2020|${randomUUID()}`).toString('base64url'),
      Buffer.from(`1|${randomUUID()}`).toString('base64url'),
      Buffer.from(`${new Date().toISOString()}|${randomUUID()}|junk`).toString('base64url'),
      // Times as toISOString writes them, but out of the years PostgreSQL stores.
      ...['+010000-01-01T00:00:00.000Z', '-000001-01-01T00:00:00.000Z', '0000-01-01T00:00:00.000Z', '-271821-04-20T00:00:00.000Z'].map(
        (at) => Buffer.from(`${at}|${randomUUID()}`).toString('base64url'),
      ),
    ];
    for (const query of [
      ...forged.map((c) => `?cursor=${encodeURIComponent(c)}`),
      '?limit=0',
      '?limit=201',
      '?limit=0x10',
      '?limit=1e1',
      '?limit=%2016',
      '?limit=16&limit=17',
      '?action=org.stolen',
      '?userId=nope',
      '?since=yesterday',
      '?org=x',
    ]) {
      const answer: { status: number; body: any } = await log(query);
      expect({ query, status: answer.status, code: answer.body?.error?.code }).toEqual({ query, status: 400, code: 'VALIDATION_FAILED' });
    }
  });

  it('is for admins only: members, viewers, outsiders, another org and any key are refused', async () => {
    await expectAllRefused(
      db,
      org.id,
      [
        { who: 'member', auth: member.token },
        { who: 'viewer', auth: viewer.token },
        { who: 'non-member', auth: cast.outsider.token },
        { who: "another org's admin", auth: cast.otherAdmin.token },
        { who: 'bot', auth: bot.key },
      ],
      (auth) => log('', auth),
    );
    expect((await log('', owner.token)).status).toBe(200);
  });

  it('walks entries written in the same millisecond exactly once, in id order', async () => {
    // Another org, so this org's history stays as it was made: give every entry one timestamp.
    const tied = cast.org;
    for (let i = 0; i < 4; i++) {
      const sent = await call(node.url, 'POST', `/orgs/${tied.slug}/invites`, {
        body: { email: `tie-${i}@example.test`, role: 'member' },
        auth: tied.owner.token,
      });
      expect(sent.status).toBe(202);
    }
    await db.query(`update audit_logs set created_at = '2030-01-01T00:00:00.123Z' where org_id = $1`, [tied.id]);
    const rows = await db.query<{ id: string }>('select id from audit_logs where org_id = $1 order by id desc', [tied.id]);
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const limit of [1, 3]) {
      const ids: string[] = [];
      let cursor: string | null = null;
      do {
        const query: string = `?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
        const answer = await call(node.url, 'GET', `/orgs/${tied.slug}/audit-log${query}`, { auth: tied.owner.token });
        expect(answer.status).toBe(200);
        ids.push(...answer.body.entries.map((e: AuditEntryJson) => e.id));
        cursor = answer.body.nextCursor;
      } while (cursor && ids.length <= rows.length);
      expect(ids).toEqual(rows.map((r) => r.id));
    }
  });

  it("records a join by signing up without the sign-up's address or user agent, in every org that had invited it", async () => {
    const other = await call<{ entries: AuditEntryJson[] }>(node.url, 'GET', `/orgs/${cast.otherOrg.slug}/audit-log?action=member.added`, {
      auth: cast.otherAdmin.token,
    });
    const joins = other.body.entries.filter((entry) => entry.entityId === joiner.id);
    expect(joins).toEqual([expect.objectContaining({ actor: joiner, ip: null, userAgent: null })]);
    const rows = await db.query('select org_id from audit_logs where entity_id = $1 and (ip is not null or user_agent is not null)', [
      joiner.id,
    ]);
    expect(rows).toEqual([]);
  });

  it("never shows another org's entries", async () => {
    const ours = (await log('?limit=200')).body.entries;
    const theirs = await db.query<{ id: string; entity_id: string | null }>('select id, entity_id from audit_logs where org_id <> $1', [
      org.id,
    ]);
    expect(theirs.length).toBeGreaterThan(0);
    const ourIds = new Set(ours.map((e) => e.id));
    for (const row of theirs) expect(ourIds.has(row.id)).toBe(false);
    expect(JSON.stringify(ours)).not.toContain(cast.otherOrg.id);
    expect(JSON.stringify(ours)).not.toContain('Other board');
    // ...and the other org's admin reading their own log sees none of ours.
    const other = await call(node.url, 'GET', `/orgs/${cast.otherOrg.slug}/audit-log?limit=200`, { auth: cast.otherAdmin.token });
    expect(other.status).toBe(200);
    const otherRows = await db.query('select id from audit_logs where org_id = $1', [cast.otherOrg.id]);
    expect(other.body.entries.length).toBe(otherRows.length);
    for (const entry of other.body.entries) expect(ourIds.has(entry.id)).toBe(false);
  });
});

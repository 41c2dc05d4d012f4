import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../server/auth/principal.js';
import { sql, withScriptConnection } from '../server/db/sql-script.js';
import { enterTenant, holds, inTenant } from '../server/db/tenant.js';
import { authorize } from '../server/orgs/access.js';
import { DomainError } from '../server/errors.js';
import { API_KEY_PERMISSIONS, type ApiKeyPermission, type Capability } from '../shared/roles.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { call, type Cast, castOrg, createKey, type CreatedKey } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';

// The quick path of a board change has no `authorize`: its write is guarded by `holds`, the same
// rule written in SQL. Both must give the same verdict for every principal and capability, or a
// change refused on one path would be made on the other.
const CAPABILITIES: Capability[] = ['board:read', 'tasks:write', 'projects:write', 'members:manage', 'org:admin', 'org:own'];

let db: TestDatabase;
let node: RunningServer;
let cast: Cast;
const principals: Array<{ who: string; principal: Principal }> = [];

const person = (who: string, user: Cast['owner'], sessionVersion = 0): { who: string; principal: Principal } => ({
  who,
  principal: { kind: 'user', userId: user.user.id, name: user.user.name, isSuperAdmin: false, sessionVersion },
});
const bot = (who: string, { apiKey }: CreatedKey, orgId = cast.org.id): { who: string; principal: Principal } => ({
  who,
  principal: { kind: 'bot', keyId: apiKey.id, orgId, name: apiKey.name, permissions: apiKey.permissions as ApiKeyPermission[] },
});

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  cast = await castOrg(node.url);
  expect((await call(node.url, 'POST', '/auth/sign-out-others', { auth: cast.member.token })).status).toBe(200);
  const [{ version }] = await db.query<{ version: number }>('select session_version as version from users where id = $1', [
    cast.member.user.id,
  ]);
  principals.push(
    person('owner', cast.owner),
    person('admin', cast.admin),
    person('member', cast.member, version),
    person('viewer', cast.viewer),
    person('outsider', cast.outsider),
    person("the other org's admin", cast.otherAdmin),
    person('a member whose session was ended since', cast.member, version - 1),
  );
  for (const permission of API_KEY_PERMISSIONS)
    principals.push(bot(`a key with ${permission}`, await createKey(node.url, cast.org, [permission])));
  principals.push(bot('a key with every permission', await createKey(node.url, cast.org, [...API_KEY_PERMISSIONS])));
  const revoked = await createKey(node.url, cast.org, [...API_KEY_PERMISSIONS]);
  expect((await call(node.url, 'DELETE', `/orgs/${cast.org.slug}/api-keys/${revoked.apiKey.id}`, { auth: cast.owner.token })).status).toBe(
    204,
  );
  principals.push(bot('a revoked key', revoked));
  const expired = await createKey(node.url, cast.org, [...API_KEY_PERMISSIONS]);
  await db.query(`update api_keys set expires_at = now() - interval '1 second' where id = $1`, [expired.apiKey.id]);
  principals.push(bot('an expired key', expired));
  principals.push(
    bot("a key presented for another org's", await createKey(node.url, cast.org, [...API_KEY_PERMISSIONS]), cast.otherOrg.id),
  );
}, 60_000);

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

/** Whether `authorize` lets the principal do it, on the standing a tenant transaction reads. */
async function authorized(principal: Principal, capability: Capability): Promise<boolean> {
  return inTenant(
    node.server.ctx.orm,
    cast.org.id,
    async (_em, standing) => {
      try {
        authorize(standing, principal, cast.org.id, capability, () => new DomainError('NOT_FOUND', 'not found'));
        return true;
      } catch (error) {
        if (error instanceof DomainError) return false;
        throw error;
      }
    },
    principal,
  );
}

/** Whether `holds` lets the principal do it, inside the tenant, as the quick path runs it. */
async function held(principal: Principal, capability: Capability): Promise<boolean> {
  const rows = await withScriptConnection(node.server.ctx.orm, (connection) =>
    connection.run(enterTenant(cast.org.id), sql`select (${holds(principal, cast.org.id, capability)}) is true as held`),
  );
  return rows![1]![0]!.held === true;
}

describe("the quick path's guard and authorize", () => {
  it('agree for every role, session, key and capability', async () => {
    const verdicts = [];
    for (const { who, principal } of principals)
      for (const capability of CAPABILITIES)
        verdicts.push({ who, capability, authorize: await authorized(principal, capability), holds: await held(principal, capability) });
    expect(verdicts.filter((verdict) => verdict.authorize !== verdict.holds)).toEqual([]);
    // Each side allows some and refuses some: the comparison is not of two constant answers.
    expect(verdicts.filter((verdict) => verdict.holds).length).toBeGreaterThan(10);
    expect(verdicts.filter((verdict) => !verdict.holds).length).toBeGreaterThan(10);
    expect(verdicts.find((verdict) => verdict.who === 'member' && verdict.capability === 'tasks:write')?.holds).toBe(true);
    expect(verdicts.find((verdict) => verdict.who === 'a revoked key' && verdict.capability === 'board:read')?.holds).toBe(false);
  });
});

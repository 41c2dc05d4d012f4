import { expect } from 'vitest';
import type { Mail, Mailer } from '../../server/mail/mailer.js';
import type { ApiKeyPermission } from '../../shared/roles.js';
import type { ApiKeyJson } from '../../shared/wire.js';
import { addMember, api, createOrg, type HttpAnswer, registerUser, type TestOrg, type TestUser } from './api.js';
import type { TestDatabase } from './database.js';
import { type ClientSocket, request } from './sockets.js';

/**
 * An org with one user of every role, a user of no org, and an admin of another org: the people
 * a governance rule is checked against, from both sides.
 */
export interface Cast {
  org: TestOrg;
  owner: TestUser;
  admin: TestUser;
  member: TestUser;
  viewer: TestUser;
  outsider: TestUser;
  otherOrg: TestOrg;
  otherAdmin: TestUser;
}

export async function castOrg(base: string): Promise<Cast> {
  const [owner, admin, member, viewer, outsider, otherOwner, otherAdmin] = await Promise.all(
    ['owner', 'admin', 'member', 'viewer', 'outsider', 'other-owner', 'other-admin'].map((name) => registerUser(base, name)),
  );
  const org = await createOrg(base, owner);
  await addMember(base, org, admin, 'admin');
  await addMember(base, org, member, 'member');
  await addMember(base, org, viewer, 'viewer');
  const otherOrg = await createOrg(base, otherOwner);
  await addMember(base, otherOrg, otherAdmin, 'admin');
  return { org, owner, admin, member, viewer, outsider, otherOrg, otherAdmin };
}

/** Registers a user and adds them to `org` with `role`. */
export async function joinAs(base: string, org: TestOrg, role: string, name = role): Promise<TestUser> {
  const user = await registerUser(base, name);
  await addMember(base, org, user, role);
  return user;
}

export interface CreatedKey {
  apiKey: ApiKeyJson;
  key: string;
}

/** An API key of `org`, made by its owner. */
export async function createKey(
  base: string,
  org: TestOrg,
  permissions: ApiKeyPermission[],
  extra: { name?: string; expiresAt?: string } = {},
): Promise<CreatedKey> {
  const answer = await call(base, 'POST', `/orgs/${org.slug}/api-keys`, {
    body: { name: extra.name ?? `bot ${permissions.join('+')}`, permissions, ...(extra.expiresAt ? { expiresAt: extra.expiresAt } : {}) },
    auth: org.owner.token,
  });
  if (answer.status !== 201) throw new Error(`create key failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body;
}

/** A JSON call to `/api/v1` with a bearer credential (a user's token or an API key), and a user agent if given. */
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  options: { body?: unknown; auth?: string; userAgent?: string } = {},
): Promise<HttpAnswer<T>> {
  return api<T>(base, method, path, options.body, options.auth, options.userAgent ? { 'user-agent': options.userAgent } : {});
}

/** Someone who tries what they may not: a name for the failure message, and the credential. */
export interface Refused {
  who: string;
  auth: string;
}

/**
 * Makes each of `refused` try `attempt`, expecting `status` with the matching error code, and the
 * org's rows in every tenant table exactly as they were before.
 */
export async function expectAllRefused(
  db: TestDatabase,
  orgId: string,
  refused: Refused[],
  attempt: (auth: string) => Promise<HttpAnswer>,
  status = 403,
): Promise<void> {
  const before = await orgRows(db, orgId);
  for (const { who, auth } of refused) {
    const answer = await attempt(auth);
    expect({ who, status: answer.status, code: answer.body?.error?.code }).toEqual({ who, status, code: CODE_OF_STATUS[status] });
  }
  expect(await orgRows(db, orgId)).toEqual(before);
}

export const CODE_OF_STATUS: Record<number, string> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'CONFLICT',
};

/** The tables that carry `org_id` (the tenant tables), read from the catalogue. */
export async function tenantTables(db: TestDatabase): Promise<string[]> {
  const rows = await db.query<{ table_name: string }>(
    `select table_name from information_schema.columns
      where table_schema = 'public' and column_name = 'org_id' order by table_name`,
  );
  return rows.map((row) => row.table_name);
}

/**
 * Every row an org owns, in every tenant table, and its own row, read as the database owner: what
 * a refusal must leave untouched. A key's `last_used_at` is left out: a refused bot still used it.
 */
export async function orgRows(db: TestDatabase, orgId: string): Promise<Record<string, unknown[]>> {
  const state: Record<string, unknown[]> = {
    organizations: await db.query('select * from organizations where id = $1', [orgId]),
  };
  for (const table of await tenantTables(db)) {
    const rows = await db.query(`select * from "${table}" where org_id = $1`, [orgId]);
    const kept = rows.map((row) => (table === 'api_keys' ? { ...row, last_used_at: undefined } : row));
    state[table] = kept.map((row) => JSON.stringify(row)).sort();
  }
  return state;
}

/** A mailer that keeps every message, for reading invitation links. */
export function captureMail(): { mailer: Mailer; mails: Mail[] } {
  const mails: Mail[] = [];
  return {
    mails,
    mailer: {
      async send(mail) {
        mails.push(mail);
      },
    },
  };
}

export interface Received {
  event: string;
  payload: any;
}

/** Records everything the server sends a socket, in order. */
export function recordAll(socket: ClientSocket): Received[] {
  const seen: Received[] = [];
  socket.onAny((event: string, payload: unknown) => seen.push({ event, payload }));
  return seen;
}

/**
 * A round trip on `socket`: whatever the server sent it before answering this is in by the time it
 * resolves (a socket's messages arrive in order), so "nothing came" can be checked without sleeping.
 */
export async function barrier(socket: ClientSocket): Promise<void> {
  const answer = await request(socket, 'board:leave', { projectId: '00000000-0000-4000-8000-000000000000' });
  expect(answer.ok).toBe(true);
}

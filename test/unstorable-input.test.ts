import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { api, createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, ok, request } from './support/sockets.js';

// Input that passes for a string or a date in JavaScript but that PostgreSQL cannot store: it must
// be refused with the contract's codes (DESIGN §6), never answered INTERNAL or 500, and leave
// nothing written.
const LONE_SURROGATE = 'half \ud800 a pair';

let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];
let task: TaskJson;
let socket: ClientSocket;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  org = await createOrg(node.url, await registerUser(node.url, 'alice'));
  ({ project, columns } = await createProject(node.url, org));
  socket = await connect(node.url, { token: org.owner.token });
  await ok(socket, 'board:join', { projectId: project.id });
  ({ task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Before' }));
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

/** What the board holds: its seq, and its tasks and columns as the database has them. */
async function boardState(): Promise<unknown> {
  return db.query(
    `select (select seq from projects where id = $1) as seq,
            (select json_agg(t order by t.id) from tasks t where project_id = $1) as tasks,
            (select json_agg(c order by c.id) from board_columns c where project_id = $1) as columns`,
    [project.id],
  );
}

/** An HTTP request with a body written as is. */
async function raw(method: string, path: string, body: string): Promise<{ status: number; code?: string }> {
  const response = await fetch(`${node.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${org.owner.token}`, 'content-type': 'application/json' },
    body,
  });
  const answer = (await response.json()) as { error?: { code?: string } };
  return { status: response.status, code: answer.error?.code };
}

describe('text PostgreSQL cannot store', () => {
  it('refuses half of a surrogate pair in every socket write, on the quick path and the general one', async () => {
    const before = await boardState();
    const label = (await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'l', color: '#112233' }, org.owner.token)).body;
    const writes: Array<[string, unknown]> = [
      ['task:create', { projectId: project.id, columnId: columns[0]!.id, title: LONE_SURROGATE }],
      ['task:update', { taskId: task.id, patch: { title: LONE_SURROGATE } }],
      ['task:update', { taskId: task.id, patch: { title: LONE_SURROGATE, labelIds: [label.id] } }],
      ['task:update', { taskId: task.id, patch: { priority: 2 }, clientMutationId: `retry-${LONE_SURROGATE}` }],
      ['column:create', { projectId: project.id, name: LONE_SURROGATE }],
      ['column:update', { columnId: columns[0]!.id, patch: { name: LONE_SURROGATE } }],
    ];
    for (const [event, payload] of writes) {
      expect(await request(socket, event, payload), event).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    }
    expect(await boardState()).toEqual(before);
  });

  it('refuses it in HTTP bodies with 400, and in org settings at any depth', async () => {
    const orgBefore = (await api(node.url, 'GET', `/orgs/${org.slug}`, undefined, org.owner.token)).body;
    const bodies: Array<[string, string, unknown]> = [
      ['POST', `/orgs/${org.slug}/projects`, { name: LONE_SURROGATE }],
      ['PATCH', `/orgs/${org.slug}`, { name: LONE_SURROGATE }],
      ['PATCH', `/orgs/${org.slug}`, { settings: { theme: { accent: [LONE_SURROGATE] } } }],
      ['PATCH', `/orgs/${org.slug}`, { settings: { [LONE_SURROGATE]: 1 } }],
      ['POST', `/orgs/${org.slug}/api-keys`, { name: LONE_SURROGATE, permissions: ['boards:read'] }],
      ['PATCH', `/orgs/${org.slug}/tasks/${task.id}`, { description: LONE_SURROGATE }],
    ];
    for (const [method, path, body] of bodies) {
      const answer = await api(node.url, method, path, body, org.owner.token);
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(answer.body.error.code).toBe('VALIDATION_FAILED');
    }
    expect((await api(node.url, 'GET', `/orgs/${org.slug}`, undefined, org.owner.token)).body).toEqual(orgBefore);
  });

  it('answers an org slug with a NUL character 404, as any slug no org has', async () => {
    const answer = await api(node.url, 'GET', `/orgs/${encodeURIComponent('a\u0000b')}`, undefined, org.owner.token);
    expect(answer).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
  });
});

describe('titles and names that show nothing', () => {
  // Spaces and invisible formatting only: a card or a board that would look untitled.
  const INVISIBLE = ['\u200b', ' \u200b\u200d ', '\u00ad', '\ufeff\u2060', '\t\u3000'];

  it('refuses them in every socket write, on the quick path and the general one, and writes nothing', async () => {
    const before = await boardState();
    const label = (await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'shown', color: '#112233' }, org.owner.token)).body;
    for (const nothing of INVISIBLE) {
      const writes: Array<[string, unknown]> = [
        ['task:create', { projectId: project.id, columnId: columns[0]!.id, title: nothing }],
        ['task:update', { taskId: task.id, patch: { title: nothing } }],
        ['task:update', { taskId: task.id, patch: { title: nothing, labelIds: [label.id] } }],
        ['column:create', { projectId: project.id, name: nothing }],
        ['column:update', { columnId: columns[0]!.id, patch: { name: nothing } }],
      ];
      for (const [event, payload] of writes) {
        expect(await request(socket, event, payload), `${event} ${JSON.stringify(nothing)}`).toMatchObject({
          ok: false,
          error: { code: 'VALIDATION_FAILED' },
        });
      }
    }
    expect(await boardState()).toEqual(before);
  });

  it('refuses them in HTTP bodies with 400, saying so once for the field, as for an empty one: a project, an org, a key, a label, an account', async () => {
    const orgBefore = (await api(node.url, 'GET', `/orgs/${org.slug}`, undefined, org.owner.token)).body;
    for (const nothing of ['', '   ', ...INVISIBLE]) {
      const bodies: Array<[string, string, unknown]> = [
        ['POST', `/orgs/${org.slug}/projects`, { name: nothing }],
        ['PATCH', `/orgs/${org.slug}/projects/${project.id}`, { name: nothing }],
        ['PATCH', `/orgs/${org.slug}`, { name: nothing }],
        ['POST', `/orgs/${org.slug}/api-keys`, { name: nothing, permissions: ['boards:read'] }],
        ['POST', `/orgs/${org.slug}/labels`, { name: nothing, color: '#112233' }],
        ['POST', '/auth/register', { email: `nobody-${Date.now()}@example.com`, password: 'a long enough password', name: nothing }],
      ];
      for (const [method, path, body] of bodies) {
        const answer = await api(node.url, method, path, body, org.owner.token);
        expect(
          { status: answer.status, code: answer.body.error?.code, details: answer.body.error?.details },
          `${method} ${path} ${JSON.stringify(nothing)}`,
        ).toEqual({
          status: 400,
          code: 'VALIDATION_FAILED',
          details: [{ path: 'name', message: 'must have a character that shows, not only spaces or invisible ones' }],
        });
      }
    }
    expect((await api(node.url, 'GET', `/orgs/${org.slug}`, undefined, org.owner.token)).body).toEqual(orgBefore);
  });

  it('takes one with something that shows among the invisible characters, kept as written but for the trimmed ends', async () => {
    for (const title of ['a\u200b', '\u200b👍', 'e\u0301', '\u00a0x\u00a0']) {
      const { task: made } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title });
      expect(made.title).toBe(title.trim());
    }
  });
});

describe('JSON nested deeper than settings may be', () => {
  it('refuses it with 400 instead of running out of stack', async () => {
    for (const depth of [33, 5000, 100_000]) {
      const settings = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
      expect(await raw('PATCH', `/orgs/${org.slug}`, `{"settings":${settings}}`), `depth ${depth}`).toEqual({
        status: 400,
        code: 'VALIDATION_FAILED',
      });
    }
    const arrays = `{"settings":{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    expect(await raw('PATCH', `/orgs/${org.slug}`, arrays)).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    // 32 levels are fine.
    const nested = JSON.parse(`${'{"a":'.repeat(31)}1${'}'.repeat(31)}`);
    expect((await api(node.url, 'PATCH', `/orgs/${org.slug}`, { settings: nested }, org.owner.token)).status).toBe(200);
  });
});

describe('dates PostgreSQL cannot store', () => {
  it('refuses a due date in the year 0 with VALIDATION_FAILED, and takes the years 0001 and 9999', async () => {
    const before = await boardState();
    for (const [event, payload] of [
      ['task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Year 0', dueDate: '0000-01-01' }],
      ['task:update', { taskId: task.id, patch: { dueDate: '0000-12-31' } }],
    ] as const) {
      expect(await request(socket, event, payload), event).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    }
    const patch = await api(node.url, 'PATCH', `/orgs/${org.slug}/tasks/${task.id}`, { dueDate: '0000-01-01' }, org.owner.token);
    expect(patch).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(await boardState()).toEqual(before);

    for (const dueDate of ['0001-01-01', '9999-12-31']) {
      const answer = await ok(socket, 'task:update', { taskId: task.id, patch: { dueDate } });
      expect(answer.task.dueDate).toBe(dueDate);
    }
  });

  it('refuses moments outside the years 0001 to 9999 in UTC, whatever their offset says', async () => {
    const key = { name: 'k', permissions: ['boards:read'] };
    for (const expiresAt of ['9999-12-31T23:59:59-23:59', '0000-06-01T00:00:00Z']) {
      const answer = await api(node.url, 'POST', `/orgs/${org.slug}/api-keys`, { ...key, expiresAt }, org.owner.token);
      expect(answer, expiresAt).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    }
    expect(await db.query('select id from api_keys')).toHaveLength(0);
    for (const since of ['0000-01-01T00:00:00Z', '9999-12-31T23:59:59-23:59']) {
      const answer = await api(
        node.url,
        'GET',
        `/orgs/${org.slug}/audit-log?since=${encodeURIComponent(since)}`,
        undefined,
        org.owner.token,
      );
      expect(answer, since).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    }
  });

  it('refuses an audit-log cursor it did not give, with 400', async () => {
    const cursor = (text: string) => Buffer.from(text).toString('base64url');
    for (const forged of [
      `2024-01-01T00:00:00Z|${'-'.repeat(36)}`,
      '-271821-04-20T00:00:00Z|00000000-0000-0000-0000-000000000000',
      '+275760-09-13T00:00:00Z|00000000-0000-0000-0000-000000000000',
    ]) {
      const answer = await api(node.url, 'GET', `/orgs/${org.slug}/audit-log?cursor=${cursor(forged)}`, undefined, org.owner.token);
      expect(answer, forged).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    }
  });
});

describe('an HTTP task update that names no field', () => {
  it('changes nothing, and is answered 200 with the task as it is, as the socket answers an empty patch', async () => {
    const [before] = await db.query('select version, updated_at from tasks where id = $1', [task.id]);
    for (const body of [{}, { baseVersion: 1 }, { clientMutationId: 'nothing' }]) {
      const answer = await api(node.url, 'PATCH', `/orgs/${org.slug}/tasks/${task.id}`, body, org.owner.token);
      expect(answer, JSON.stringify(body)).toMatchObject({ status: 200, body: { task: { id: task.id }, event: null } });
    }
    expect(await db.query('select version, updated_at from tasks where id = $1', [task.id])).toEqual([before]);
  });
});

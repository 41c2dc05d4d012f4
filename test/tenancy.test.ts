import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireError } from '../shared/errors.js';
import type { BoardEventJson, ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, nextEvent, ok, recordBoardEvents, request } from './support/sockets.js';

/**
 * Tenant isolation seen from the attacker's side: mallory owns org B and knows every id of org A
 * (as if they had leaked), and still neither reads, changes nor hears anything of A.
 */

interface OrgEvent {
  orgId: string;
  type: string;
  data: unknown;
}

let db: TestDatabase;
let node: RunningServer;
let alice: TestUser;
let bob: TestUser;
let vera: TestUser;
let carol: TestUser;
let mallory: TestUser;
let nobody: TestUser;
let orgA: TestOrg;
let orgB: TestOrg;
let projectA: ProjectJson;
let columnsA: ColumnJson[];
let projectB: ProjectJson;
let columnsB: ColumnJson[];
let taskA: TaskJson;
let taskA2: TaskJson;
let taskB: TaskJson;
let aliceSocket: ClientSocket;
let bobSocket: ClientSocket;
let mallorySocket: ClientSocket;
let bobSeen: BoardEventJson[];
let mallorySeen: BoardEventJson[];
const malloryOrgEvents: OrgEvent[] = [];
/** Every id, name and title of org A: none may ever reach mallory. */
const secretsOfA: string[] = [];

const A_PROJECT_NAME = 'Alpha acquisition board';
const A_TITLE = 'Alpha secret: buy Initech in March';
const A_TITLE_2 = 'Alpha secret: lay off the night shift';

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  [alice, bob, vera, carol, mallory, nobody] = await Promise.all(
    ['alice', 'bob', 'vera', 'carol', 'mallory', 'nobody'].map((name) => registerUser(node.url, name)),
  );

  // Mallory's org, board and socket come first, so she listens through all of A's setup too.
  orgB = await createOrg(node.url, mallory);
  ({ project: projectB, columns: columnsB } = await createProject(node.url, orgB, 'Mallory board'));
  mallorySocket = await connect(node.url, { token: mallory.token });
  mallorySeen = recordBoardEvents(mallorySocket);
  mallorySocket.on('org:event', (event) => malloryOrgEvents.push(event));
  await ok(mallorySocket, 'board:join', { projectId: projectB.id });
  taskB = (await ok(mallorySocket, 'task:create', { projectId: projectB.id, columnId: columnsB[0]!.id, title: 'Mallory task' })).task;

  orgA = await createOrg(node.url, alice);
  await addMember(node.url, orgA, bob, 'member');
  await addMember(node.url, orgA, vera, 'viewer');
  ({ project: projectA, columns: columnsA } = await createProject(node.url, orgA, A_PROJECT_NAME));
  aliceSocket = await connect(node.url, { token: alice.token });
  bobSocket = await connect(node.url, { token: bob.token });
  await ok(aliceSocket, 'board:join', { projectId: projectA.id });
  await ok(bobSocket, 'board:join', { projectId: projectA.id });
  bobSeen = recordBoardEvents(bobSocket);
  taskA = (
    await ok(aliceSocket, 'task:create', {
      projectId: projectA.id,
      columnId: columnsA[0]!.id,
      title: A_TITLE,
      description: 'Alpha eyes only',
    })
  ).task;
  taskA2 = (await ok(aliceSocket, 'task:create', { projectId: projectA.id, columnId: columnsA[0]!.id, title: A_TITLE_2 })).task;

  secretsOfA.push(orgA.id, orgA.slug, `Org ${orgA.slug}`, projectA.id, A_PROJECT_NAME, ...columnsA.map((c) => c.id));
  secretsOfA.push(taskA.id, taskA2.id, A_TITLE, A_TITLE_2, 'Alpha eyes only', alice.email, bob.email, vera.email);
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

const todoA = () => columnsA[0]!.id;
const doneA = () => columnsA[2]!.id;
const todoB = () => columnsB[0]!.id;
const doingB = () => columnsB[1]!.id;

/** The secrets of A found in `value`, leaving out what the asker sent herself (`sent`). */
function leaked(value: unknown, sent: unknown = null): string[] {
  const text = JSON.stringify(value);
  const asked = JSON.stringify(sent);
  return secretsOfA.filter((secret) => text.includes(secret) && !asked.includes(secret));
}

/** Everything a tenant owns, read as the database owner: a refusal must leave it exactly so. */
async function tenantState(orgId: string) {
  return {
    org: await db.query('select * from organizations where id = $1', [orgId]),
    memberships: await db.query('select user_id, role from memberships where org_id = $1 order by user_id', [orgId]),
    projects: await db.query('select * from projects where org_id = $1 order by id', [orgId]),
    columns: await db.query('select * from board_columns where org_id = $1 order by id', [orgId]),
    tasks: await db.query('select * from tasks where org_id = $1 order by id', [orgId]),
    events: await db.query('select id, seq, type from board_events where org_id = $1 order by project_id, seq', [orgId]),
  };
}
type TenantState = Awaited<ReturnType<typeof tenantState>>;

/** The headline facts first (task count, titles, seq), then every row of the tenant. */
async function expectUntouched(orgId: string, before: TenantState): Promise<void> {
  const after = await tenantState(orgId);
  expect(after.tasks.length).toBe(before.tasks.length);
  expect(after.tasks.map((t) => t.title)).toEqual(before.tasks.map((t) => t.title));
  expect(after.projects.map((p) => p.seq)).toEqual(before.projects.map((p) => p.seq));
  expect(after).toEqual(before);
}

/** Mallory sends `event`; answers the refusal (failing the test on success or on a leak). */
async function mallorySends(event: string, payload: unknown): Promise<WireError> {
  const answer = await request(mallorySocket, event, payload);
  if (answer.ok) throw new Error(`${event} was accepted for mallory: ${JSON.stringify(answer.data)}`);
  expect(leaked(answer.error, payload), `${event} error leaks A`).toEqual([]);
  return answer.error;
}

async function malloryCalls(method: string, path: string, body?: unknown) {
  const answer = await api(node.url, method, path, body, mallory.token);
  expect(leaked(answer.body, { path, body }), `${method} ${path} leaks A`).toEqual([]);
  return { route: `${method} ${path}`, status: answer.status, code: answer.body?.error?.code as string | undefined };
}

describe('org A changes on a live board', () => {
  it('reach the teammate change by change with seq rising by one, and none of it reaches mallory on her own board', async () => {
    const before = (await ok(aliceSocket, 'board:join', { projectId: projectA.id })).seq as number;
    const bobFrom = bobSeen.length;
    const { task } = await ok(aliceSocket, 'task:create', {
      projectId: projectA.id,
      columnId: todoA(),
      title: 'Alpha secret: the merger memo',
    });
    secretsOfA.push(task.id, 'Alpha secret: the merger memo', 'Alpha secret: memo v2');
    await ok(aliceSocket, 'task:update', { taskId: task.id, patch: { title: 'Alpha secret: memo v2' } });
    await ok(aliceSocket, 'task:move', { taskId: task.id, columnId: doneA() });
    await ok(aliceSocket, 'task:delete', { taskId: task.id });
    await eventually(() =>
      expect(bobSeen.slice(bobFrom).map((e) => [e.seq, e.type])).toEqual([
        [before + 1, 'task.created'],
        [before + 2, 'task.updated'],
        [before + 3, 'task.moved'],
        [before + 4, 'task.deleted'],
      ]),
    );
    const memberAdded = nextEvent<OrgEvent>(
      aliceSocket,
      'org:event',
      (e) => e.type === 'member.added' && JSON.stringify(e.data).includes(carol.user.id),
    );
    await addMember(node.url, orgA, carol, 'member');
    await memberAdded;
    secretsOfA.push(carol.email);

    // Positive controls: B's own board and org events do reach mallory, after all of A's.
    await expectMalloryHearsB();
    expect(mallorySeen.length).toBeGreaterThan(0);
    expect(mallorySeen.every((e) => e.projectId === projectB.id)).toBe(true);
    expect(malloryOrgEvents.every((e) => e.orgId === orgB.id)).toBe(true);
    expect(leaked(mallorySeen)).toEqual([]);
    expect(leaked(malloryOrgEvents)).toEqual([]);
  });
});

/** Makes a change on B's board and in B's org over REST, and waits until mallory's socket hears both. */
async function expectMalloryHearsB(): Promise<void> {
  const created = await api(
    node.url,
    'POST',
    `/orgs/${orgB.slug}/projects/${projectB.id}/tasks`,
    { columnId: todoB(), title: `B control ${randomUUID()}` },
    mallory.token,
  );
  expect(created.status).toBe(201);
  const project = await api(node.url, 'POST', `/orgs/${orgB.slug}/projects`, { name: `B project ${randomUUID()}` }, mallory.token);
  expect(project.status).toBe(201);
  await eventually(() => {
    expect(mallorySeen.filter((e) => (e.data as { task?: TaskJson }).task?.id === created.body.task.id)).toHaveLength(1);
    expect(
      malloryOrgEvents.filter((e) => e.type === 'project.created' && JSON.stringify(e.data).includes(project.body.project.id)),
    ).toHaveLength(1);
  });
}

describe('mallory, owner of org B, against org A over HTTP', () => {
  it('is refused on every route of A (403), and her own slug with A ids finds nothing (404); A and B stay as they were', async () => {
    const [beforeA, beforeB] = [await tenantState(orgA.id), await tenantState(orgB.id)];
    const a = `/orgs/${orgA.slug}`;
    const b = `/orgs/${orgB.slug}`;
    const answers = [
      await malloryCalls('GET', a),
      await malloryCalls('GET', `${a}/members`),
      await malloryCalls('GET', `${a}/projects`),
      await malloryCalls('GET', `${a}/projects/${projectA.id}`),
      await malloryCalls('POST', `${a}/projects`, { name: 'Mallory was here' }),
      await malloryCalls('POST', `${a}/projects/${projectA.id}/tasks`, { columnId: todoA(), title: 'planted' }),
      await malloryCalls('PATCH', `${a}/tasks/${taskA.id}`, { title: 'defaced' }),
      await malloryCalls('POST', `${a}/tasks/${taskA.id}/move`, { columnId: doneA() }),
      await malloryCalls('DELETE', `${a}/tasks/${taskA.id}`),
      await malloryCalls('POST', `${a}/invites`, { email: mallory.email, role: 'owner' }),
      await malloryCalls('POST', `${a}/invites`, { email: mallory.email, role: 'viewer' }),
      await malloryCalls('GET', `${b}/projects/${projectA.id}`),
      await malloryCalls('POST', `${b}/projects/${projectA.id}/tasks`, { columnId: todoA(), title: 'planted' }),
      await malloryCalls('POST', `${b}/projects/${projectB.id}/tasks`, { columnId: todoA(), title: 'planted' }),
      await malloryCalls('PATCH', `${b}/tasks/${taskA.id}`, { title: 'defaced' }),
      await malloryCalls('POST', `${b}/tasks/${taskA.id}/move`, { columnId: doneA() }),
      await malloryCalls('DELETE', `${b}/tasks/${taskA.id}`),
      await malloryCalls('POST', `${b}/tasks/${taskB.id}/move`, { columnId: doneA() }),
    ];
    const forbidden = { status: 403, code: 'FORBIDDEN' };
    const notFound = { status: 404, code: 'NOT_FOUND' };
    expect(answers).toEqual([
      ...answers.slice(0, 11).map(({ route }) => ({ route, ...forbidden })),
      ...answers.slice(11).map(({ route }) => ({ route, ...notFound })),
    ]);
    await expectUntouched(orgA.id, beforeA);
    await expectUntouched(orgB.id, beforeB);
    expect(await db.query('select 1 from memberships where org_id = $1 and user_id = $2', [orgA.id, mallory.user.id])).toEqual([]);
    expect(await db.query(`select 1 from tasks where title = 'planted'`)).toEqual([]);
  });

  it('answers her own slug with an id of A exactly as with an id that does not exist', async () => {
    const b = `/orgs/${orgB.slug}`;
    const unknown = randomUUID();
    const pairs: Array<[string, string, (id: string) => string, unknown]> = [
      ['GET', 'project', (id) => `${b}/projects/${id}`, undefined],
      ['POST', 'project', (id) => `${b}/projects/${id}/tasks`, { columnId: todoB(), title: 'planted' }],
      ['PATCH', 'task', (id) => `${b}/tasks/${id}`, { title: 'defaced' }],
      ['POST', 'task', (id) => `${b}/tasks/${id}/move`, { columnId: todoB() }],
      ['DELETE', 'task', (id) => `${b}/tasks/${id}`, undefined],
    ];
    for (const [method, kind, path, body] of pairs) {
      const real = await api(node.url, method, path(kind === 'project' ? projectA.id : taskA.id), body, mallory.token);
      const fake = await api(node.url, method, path(unknown), body, mallory.token);
      expect({ route: `${method} ${kind}`, status: real.status, body: real.body }).toEqual({
        route: `${method} ${kind}`,
        status: fake.status,
        body: fake.body,
      });
    }
  });

  it("answers her A's routes 403 whatever the spelling of the id in the path, as DESIGN §6 has it for outsiders", async () => {
    const a = `/orgs/${orgA.slug}`;
    const routes: Array<[string, (id: string) => string, unknown]> = [
      ['GET', (id) => `${a}/projects/${id}`, undefined],
      ['POST', (id) => `${a}/projects/${id}/tasks`, { columnId: todoB(), title: 'planted' }],
      ['PATCH', (id) => `${a}/tasks/${id}`, { title: 'defaced' }],
      ['DELETE', (id) => `${a}/members/${id}`, undefined],
      ['DELETE', (id) => `${a}/api-keys/${id}`, undefined],
    ];
    for (const [method, path, body] of routes) {
      for (const id of [randomUUID(), 'not-a-uuid', taskA.id.toUpperCase()]) {
        const answer = await api(node.url, method, path(id), body, mallory.token);
        expect({ route: `${method} ${path(id)}`, status: answer.status, code: answer.body?.error?.code }).toEqual({
          route: `${method} ${path(id)}`,
          status: 403,
          code: 'FORBIDDEN',
        });
      }
    }
  });

  it('shows her nothing of A in her own views of herself and of B', async () => {
    const me = await api(node.url, 'GET', '/me', undefined, mallory.token);
    expect(me.status).toBe(200);
    expect(me.body.memberships.map((m: { org: { id: string } }) => m.org.id)).toEqual([orgB.id]);
    for (const path of [
      `/orgs/${orgB.slug}`,
      `/orgs/${orgB.slug}/members`,
      `/orgs/${orgB.slug}/projects`,
      `/orgs/${orgB.slug}/projects/${projectB.id}`,
    ]) {
      const answer = await api(node.url, 'GET', path, undefined, mallory.token);
      expect(answer.status, path).toBe(200);
      expect(leaked(answer.body), path).toEqual([]);
    }
    const members = await api(node.url, 'GET', `/orgs/${orgB.slug}/members`, undefined, mallory.token);
    expect(members.body.map((m: { user: { id: string } }) => m.user.id)).toEqual([mallory.user.id]);
  });
});

describe('mallory, owner of org B, against org A over sockets', () => {
  it('cannot join A board, nor create, change, move or delete anything on it; every refusal is FORBIDDEN or NOT_FOUND and A stays as it was', async () => {
    const [beforeA, beforeB] = [await tenantState(orgA.id), await tenantState(orgB.id)];
    const attempts: Array<[string, unknown]> = [
      ['board:join', { projectId: projectA.id }],
      ['board:join', { projectId: projectA.id, sinceSeq: 0 }],
      ['task:create', { projectId: projectA.id, columnId: todoA(), title: 'planted' }],
      ['task:update', { taskId: taskA.id, patch: { title: 'defaced' } }],
      ['task:update', { taskId: taskA.id, patch: { assigneeId: mallory.user.id } }],
      ['task:move', { taskId: taskA.id, columnId: doneA() }],
      ['task:move', { taskId: taskA.id, columnId: todoB() }],
      ['task:delete', { taskId: taskA.id }],
    ];
    const codes: Array<[string, string]> = [];
    for (const [event, payload] of attempts) codes.push([event, (await mallorySends(event, payload)).code]);
    for (const [event, code] of codes) expect(['FORBIDDEN', 'NOT_FOUND'], `${event} answered ${code}`).toContain(code);
    await expectUntouched(orgA.id, beforeA);
    await expectUntouched(orgB.id, beforeB);
    expect(await db.query(`select 1 from tasks where title in ('planted', 'defaced')`)).toEqual([]);
  });

  it('cannot use A columns from her own board: a task created on B into A column, or her B task moved into it, is refused and nothing is written to A or B', async () => {
    const [beforeA, beforeB] = [await tenantState(orgA.id), await tenantState(orgB.id)];
    const create = await mallorySends('task:create', { projectId: projectB.id, columnId: todoA(), title: 'planted' });
    const move = await mallorySends('task:move', { taskId: taskB.id, columnId: todoA() });
    expect([create.code, move.code]).toEqual(['NOT_FOUND', 'NOT_FOUND']);
    await expectUntouched(orgA.id, beforeA);
    await expectUntouched(orgB.id, beforeB);
    expect(await db.query('select column_id, org_id from tasks where id = $1', [taskB.id])).toEqual([
      { column_id: todoB(), org_id: orgB.id },
    ]);
  });

  it('cannot name A tasks as neighbours on her own board: refused like an unknown id, nothing written', async () => {
    const [beforeA, beforeB] = [await tenantState(orgA.id), await tenantState(orgB.id)];
    const unknown = randomUUID();
    const attempts: Array<(id: string) => unknown[]> = [
      (id) => ['task:create', { projectId: projectB.id, columnId: todoB(), title: 'planted', afterId: id }],
      (id) => ['task:move', { taskId: taskB.id, columnId: todoB(), afterId: id }],
      (id) => ['task:move', { taskId: taskB.id, columnId: doingB(), beforeId: id }],
    ];
    for (const attempt of attempts) {
      const [event, payload] = attempt(taskA2.id) as [string, unknown];
      const real = await mallorySends(event, payload);
      const [, fakePayload] = attempt(unknown) as [string, unknown];
      const fake = await mallorySends(event, fakePayload);
      expect(['VALIDATION_FAILED', 'NOT_FOUND']).toContain(real.code);
      expect(real, `${event} ${JSON.stringify(payload)}`).toEqual(fake);
    }
    await expectUntouched(orgA.id, beforeA);
    await expectUntouched(orgB.id, beforeB);
  });

  it('cannot assign a member of A (who is no member of B) to her task', async () => {
    const refused = await mallorySends('task:update', { taskId: taskB.id, patch: { assigneeId: alice.user.id } });
    expect(refused.code).toBe('VALIDATION_FAILED');
    expect(await db.query('select assignee_id from tasks where id = $1', [taskB.id])).toEqual([{ assignee_id: null }]);
  });

  it('gets the same answer for an id of A as for an id that does not exist, so ids reveal nothing', async () => {
    const unknown = randomUUID();
    const attempts: Array<[string, (project: string, task: string) => unknown]> = [
      ['board:join', (project) => ({ projectId: project })],
      ['task:create', (project) => ({ projectId: project, columnId: todoA(), title: 'planted' })],
      ['task:update', (_, task) => ({ taskId: task, patch: { title: 'defaced' } })],
      ['task:move', (_, task) => ({ taskId: task, columnId: doneA() })],
      ['task:delete', (_, task) => ({ taskId: task })],
    ];
    const answers = [];
    for (const [event, payload] of attempts) {
      answers.push({
        event,
        real: await mallorySends(event, payload(projectA.id, taskA.id)),
        unknown: await mallorySends(event, payload(unknown, unknown)),
      });
    }
    expect(answers.map(({ event, real }) => ({ event, answer: real }))).toEqual(
      answers.map(({ event, unknown }) => ({ event, answer: unknown })),
    );
  });
});

describe('a viewer of org A', () => {
  it('may join the board but may not create, update, move or delete tasks', async () => {
    const before = await tenantState(orgA.id);
    const viewer = await connect(node.url, { token: vera.token });
    const board = await ok(viewer, 'board:join', { projectId: projectA.id });
    expect(board.tasks.map((t: TaskJson) => t.id)).toEqual(expect.arrayContaining([taskA.id, taskA2.id]));
    const attempts: Array<[string, unknown]> = [
      ['task:create', { projectId: projectA.id, columnId: todoA(), title: 'by the viewer' }],
      ['task:update', { taskId: taskA.id, patch: { title: 'by the viewer' } }],
      ['task:move', { taskId: taskA.id, columnId: doneA() }],
      ['task:delete', { taskId: taskA.id }],
    ];
    for (const [event, payload] of attempts) {
      expect(await request(viewer, event, payload), event).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    }
    const http = [
      await api(
        node.url,
        'POST',
        `/orgs/${orgA.slug}/projects/${projectA.id}/tasks`,
        { columnId: todoA(), title: 'by the viewer' },
        vera.token,
      ),
      await api(node.url, 'PATCH', `/orgs/${orgA.slug}/tasks/${taskA.id}`, { title: 'by the viewer' }, vera.token),
      await api(node.url, 'POST', `/orgs/${orgA.slug}/tasks/${taskA.id}/move`, { columnId: doneA() }, vera.token),
      await api(node.url, 'DELETE', `/orgs/${orgA.slug}/tasks/${taskA.id}`, undefined, vera.token),
    ];
    expect(http.map((answer) => [answer.status, answer.body?.error?.code])).toEqual(Array(4).fill([403, 'FORBIDDEN']));
    await expectUntouched(orgA.id, before);
  });
});

describe('a user with no membership anywhere', () => {
  it('gets 403 on the routes of A, 404 on an unknown slug, and NOT_FOUND when joining A board', async () => {
    const a = `/orgs/${orgA.slug}`;
    const missing = `/orgs/no-such-org-${randomUUID().slice(0, 8)}`;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', a],
      ['GET', `${a}/members`],
      ['GET', `${a}/projects`],
      ['GET', `${a}/projects/${projectA.id}`],
      ['POST', `${a}/projects/${projectA.id}/tasks`, { columnId: todoA(), title: 'planted' }],
      ['GET', missing],
      ['GET', `${missing}/members`],
      ['GET', `${missing}/projects`],
    ];
    const answers = [];
    for (const [method, path, body] of routes) {
      const answer = await api(node.url, method, path, body, nobody.token);
      expect(leaked(answer.body, { path, body }), path).toEqual([]);
      answers.push([method, path, answer.status, answer.body?.error?.code]);
    }
    expect(answers).toEqual(
      routes.map(([method, path]) => [method, path, ...(path.startsWith(a) ? [403, 'FORBIDDEN'] : [404, 'NOT_FOUND'])]),
    );
    const socket = await connect(node.url, { token: nobody.token });
    expect(await request(socket, 'board:join', { projectId: projectA.id })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await db.query(`select 1 from tasks where title = 'planted'`)).toEqual([]);
  });
});

describe('after all of her attempts', () => {
  it('mallory still hears nothing of A: a later change reaches the teammate and only B events reach her', async () => {
    const bobFrom = bobSeen.length;
    const { event } = await ok(aliceSocket, 'task:update', { taskId: taskA.id, patch: { priority: 4 } });
    await eventually(() => expect(bobSeen.slice(bobFrom).map((e) => e.seq)).toEqual([event.seq]));
    await expectMalloryHearsB();
    expect(mallorySeen.filter((e) => e.projectId !== projectB.id)).toEqual([]);
    expect(malloryOrgEvents.filter((e) => e.orgId !== orgB.id)).toEqual([]);
    expect(leaked(mallorySeen)).toEqual([]);
    expect(leaked(malloryOrgEvents)).toEqual([]);
    expect(await db.query('select title, priority from tasks where id = $1', [taskA.id])).toEqual([{ title: A_TITLE, priority: 4 }]);
  });
});

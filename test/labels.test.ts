import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, ProjectJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, nextEvent, ok, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let other: TestOrg;
let viewer: TestUser;
let project: ProjectJson;
let columns: ColumnJson[];
let owner: ClientSocket;
let watcher: ClientSocket;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  const alice = await registerUser(node.url, 'alice');
  const bob = await registerUser(node.url, 'bob');
  viewer = await registerUser(node.url, 'vera');
  org = await createOrg(node.url, alice);
  other = await createOrg(node.url, await registerUser(node.url, 'mallory'));
  await addMember(node.url, org, bob, 'member');
  await addMember(node.url, org, viewer, 'viewer');
  ({ project, columns } = await createProject(node.url, org));
  owner = await connect(node.url, { token: alice.token });
  watcher = await connect(node.url, { token: bob.token });
  await ok(owner, 'board:join', { projectId: project.id });
  await ok(watcher, 'board:join', { projectId: project.id });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

const label = async (slug: string, token: string, name: string, color = '#d73a4a') =>
  api(node.url, 'POST', `/orgs/${slug}/labels`, { name, color }, token);

describe('labels', () => {
  it('belong to an org, are unique by name there, and are listed to its readers', async () => {
    const bug = await label(org.slug, org.owner.token, 'bug');
    expect(bug.status).toBe(201);
    expect(bug.body).toMatchObject({ name: 'bug', color: '#d73a4a' });
    expect((await label(org.slug, org.owner.token, 'bug')).status).toBe(409);
    // One name in Unicode's two spellings (the accent composed, or a letter and its accent) is one label.
    const composed = await label(org.slug, org.owner.token, 'Caf\u00e9');
    expect({ status: composed.status, name: composed.body.name }).toEqual({ status: 201, name: 'Caf\u00e9' });
    const apart = await label(org.slug, org.owner.token, 'Cafe\u0301');
    expect({ status: apart.status, code: apart.body.error?.code }).toEqual({ status: 409, code: 'CONFLICT' });
    const renamed = await api(node.url, 'PATCH', `/orgs/${org.slug}/labels/${bug.body.id}`, { name: 'Cafe\u0301' }, org.owner.token);
    expect(renamed.status).toBe(409);
    await api(node.url, 'DELETE', `/orgs/${org.slug}/labels/${composed.body.id}`, undefined, org.owner.token);
    // A few letters grow in that form (U+0958 is two there): the limit holds for the name as stored.
    const grown = await label(org.slug, org.owner.token, '\u0958'.repeat(100));
    expect({ status: grown.status, code: grown.body.error?.code }).toEqual({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await label(org.slug, viewer.token, 'nope')).status).toBe(403);
    expect((await label(org.slug, org.owner.token, 'bad', 'red')).status).toBe(400);
    const listed = await api(node.url, 'GET', `/orgs/${org.slug}/labels`, undefined, viewer.token);
    expect(listed.body.map((l: any) => l.name)).toEqual(['bug']);
    expect((await api(node.url, 'GET', `/orgs/${org.slug}/labels`, undefined, other.owner.token)).status).toBe(403);
  });

  it('are set on tasks over sockets and HTTP and broadcast as task.updated', async () => {
    const bug = (await label(org.slug, org.owner.token, 'urgent', '#ff0000')).body;
    const { task } = await ok(owner, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Label me' });
    expect(task.labelIds).toEqual([]);
    const seen = nextEvent<BoardEventJson<any>>(watcher, 'board:event', (e) => e.type === 'task.updated' && e.data.task.id === task.id);
    const updated = await ok(owner, 'task:update', { taskId: task.id, patch: { labelIds: [bug.id] } });
    expect(updated.task.labelIds).toEqual([bug.id]);
    expect((await seen).data.changed).toEqual(['labelIds']);
    expect(await db.query('select label_id from task_labels where task_id = $1', [task.id])).toEqual([{ label_id: bug.id }]);

    const cleared = await api(node.url, 'PATCH', `/orgs/${org.slug}/tasks/${task.id}`, { labelIds: [] }, org.owner.token);
    expect(cleared.body.task.labelIds).toEqual([]);
    expect(await db.query('select 1 from task_labels where task_id = $1', [task.id])).toEqual([]);

    const board = await ok(owner, 'board:join', { projectId: project.id });
    expect(board.tasks.find((t: any) => t.id === task.id).labelIds).toEqual([]);
  });

  it("refuse another org's label on a task, writing nothing", async () => {
    const foreign = (await label(other.slug, other.owner.token, 'theirs')).body;
    const { task } = await ok(owner, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Mine' });
    const refused = await request(owner, 'task:update', { taskId: task.id, patch: { labelIds: [foreign.id] } });
    expect(refused).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    expect(await db.query('select 1 from task_labels where task_id = $1', [task.id])).toEqual([]);
  });

  it('leave every task when deleted, each change broadcast', async () => {
    const doomed = (await label(org.slug, org.owner.token, 'doomed')).body;
    const { task } = await ok(owner, 'task:create', {
      projectId: project.id,
      columnId: columns[0]!.id,
      title: 'Tagged',
      labelIds: [doomed.id],
    });
    expect(task.labelIds).toEqual([doomed.id]);
    const seen = nextEvent<BoardEventJson<any>>(watcher, 'board:event', (e) => e.type === 'task.updated' && e.data.task.id === task.id);
    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/labels/${doomed.id}`, undefined, org.owner.token)).status).toBe(204);
    expect((await seen).data.task.labelIds).toEqual([]);
    expect(await db.query('select 1 from labels where id = $1', [doomed.id])).toEqual([]);
  });
});

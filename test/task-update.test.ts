import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { api, createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, ok, request } from './support/sockets.js';

// The one-statement update (title, description, priority, due date) must answer exactly as the
// general path does: the same task JSON as a fresh read, the same `changed`, the same refusals.
let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];
let socket: ClientSocket;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  const alice = await registerUser(node.url, 'alice');
  org = await createOrg(node.url, alice);
  ({ project, columns } = await createProject(node.url, org));
  socket = await connect(node.url, { token: alice.token });
  await ok(socket, 'board:join', { projectId: project.id });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

async function fresh(taskId: string): Promise<TaskJson> {
  const board = await api(node.url, 'GET', `/orgs/${org.slug}/projects/${project.id}`, undefined, org.owner.token);
  return board.body.tasks.find((t: TaskJson) => t.id === taskId);
}

describe('a plain field update', () => {
  it('answers the task as a fresh read shows it, with the fields that changed', async () => {
    const label = (await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'x', color: '#000000' }, org.owner.token)).body;
    const { task } = await ok(socket, 'task:create', {
      projectId: project.id,
      columnId: columns[0]!.id,
      title: 'Plain',
      description: 'before',
      dueDate: '2031-01-02',
      labelIds: [label.id],
    });
    const updated = await ok(socket, 'task:update', {
      taskId: task.id,
      patch: { title: 'Plainer', description: null, priority: 4, dueDate: '2031-02-03' },
    });
    expect(updated.event.data.changed).toEqual(['title', 'description', 'priority', 'dueDate']);
    expect(updated.task).toEqual(await fresh(task.id));
    expect(updated.task).toMatchObject({
      title: 'Plainer',
      description: null,
      priority: 4,
      dueDate: '2031-02-03',
      version: 2,
      labelIds: [label.id],
    });
    expect(updated.event.data.task).toEqual(updated.task);

    const partly = await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Plainer', priority: 1 }, baseVersion: 2 });
    expect(partly.event.data.changed).toEqual(['priority']);
    expect(partly.task).toEqual(await fresh(task.id));
  });

  it('changes nothing, and answers so, when the values are the same', async () => {
    const { task } = await ok(socket, 'task:create', {
      projectId: project.id,
      columnId: columns[0]!.id,
      title: 'Same',
      dueDate: '2030-05-06',
    });
    const answer = await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Same', dueDate: '2030-05-06' } });
    expect(answer.event).toBeNull();
    expect(answer.task).toEqual(task);
  });

  it('leaves a stale baseVersion to the merge rules, and an unknown task to NOT_FOUND', async () => {
    const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Stale' });
    await ok(socket, 'task:update', { taskId: task.id, patch: { priority: 2 } });
    const merged = await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'Merged' }, baseVersion: 1 });
    expect(merged.task).toMatchObject({ title: 'Merged', priority: 2, version: 3 });
    const clash = await request(socket, 'task:update', { taskId: task.id, patch: { priority: 3 }, baseVersion: 1 });
    expect(clash).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    await ok(socket, 'task:delete', { taskId: task.id });
    expect(await request(socket, 'task:update', { taskId: task.id, patch: { title: 'gone' } })).toMatchObject({
      ok: false,
      error: { code: 'NOT_FOUND' },
    });
  });
});

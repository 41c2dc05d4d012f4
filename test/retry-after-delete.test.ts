import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { barrier, recordAll } from './support/governance.js';
import { startServerProcess } from './support/processes.js';
import { type ClientSocket, closeAllSockets, connect, nextEvent, ok, recordBoardEvents, request } from './support/sockets.js';
import { useTwoNodes } from './support/two-nodes.js';

/**
 * A mutation whose row is gone once it succeeded (a delete, or a change to a task deleted since)
 * is retried with its clientMutationId, as the SDK does after reconnecting, to another node or to
 * a node that restarted: the retry answers the original result (DESIGN §7) and changes nothing,
 * while anyone without that mutation, and above all another tenant, still gets NOT_FOUND.
 */

const JWT_SECRET = randomBytes(32).toString('hex');

const cluster = useTwoNodes({ JWT_SECRET });
let alice: TestUser;
let bob: TestUser;
let mallory: TestUser;
let orgA: TestOrg;
let orgM: TestOrg;
let projectA: ProjectJson;
let columnsA: ColumnJson[];
let projectM: ProjectJson;
let columnsM: ColumnJson[];
let alice1: ClientSocket;
let alice2: ClientSocket;
let bob1: ClientSocket;
/** Bob watches A's board from node 2, where the retries go. */
let bob2: ClientSocket;
let bobSeen: BoardEventJson[];

const n1 = () => cluster.node1.url;
const n2 = () => cluster.node2.url;

beforeAll(async () => {
  [alice, bob, mallory] = await Promise.all(['alice', 'bob', 'mallory'].map((name) => registerUser(n1(), name)));
  orgA = await createOrg(n1(), alice);
  await addMember(n1(), orgA, bob, 'member');
  ({ project: projectA, columns: columnsA } = await createProject(n1(), orgA, 'Alpha board'));
  orgM = await createOrg(n2(), mallory);
  ({ project: projectM, columns: columnsM } = await createProject(n2(), orgM, 'Mallory board'));
  alice1 = await connect(n1(), { token: alice.token });
  alice2 = await connect(n2(), { token: alice.token });
  bob1 = await connect(n1(), { token: bob.token });
  bob2 = await connect(n2(), { token: bob.token });
  await ok(bob2, 'board:join', { projectId: projectA.id });
  bobSeen = recordBoardEvents(bob2);
});

afterAll(() => closeAllSockets());

async function createTask(socket: ClientSocket, title: string, projectId = projectA.id, columnId = columnsA[0]!.id): Promise<TaskJson> {
  return (await ok(socket, 'task:create', { projectId, columnId, title })).task;
}

/** Makes the change on `socket` while waiting for bob, on node 2, to get its event; answers the ack. */
async function changeSeenByBob<T extends { event: BoardEventJson }>(socket: ClientSocket, event: string, payload: unknown): Promise<T> {
  const [answer, seen] = await Promise.all([
    ok<T>(socket, event, payload),
    nextEvent<BoardEventJson>(
      bob2,
      'board:event',
      (e) => e.clientMutationId === (payload as { clientMutationId?: string }).clientMutationId,
    ),
  ]);
  expect(seen).toEqual(answer.event);
  return answer;
}

/**
 * A change on node 1 that bob, on node 2, gets: Redis and each socket keep order, so whatever
 * either node broadcast to bob before it is in by then, and a duplicate would show.
 */
async function settle(): Promise<void> {
  const title = `settle ${randomUUID()}`;
  await Promise.all([
    createTask(alice1, title),
    nextEvent<BoardEventJson<{ task: TaskJson }>>(bob2, 'board:event', (e) => e.data.task?.title === title),
  ]);
}

async function boardSeq(projectId: string): Promise<number> {
  return (await cluster.db.query<{ seq: number }>('select seq from projects where id = $1', [projectId]))[0]!.seq;
}

async function eventsWith(clientMutationId: string) {
  return cluster.db.query('select project_id, seq, type from board_events where client_mutation_id = $1', [clientMutationId]);
}

const bobGot = (clientMutationId: string) => bobSeen.filter((e) => e.clientMutationId === clientMutationId);

describe('a retried mutation whose row is gone', () => {
  it('answers a task:delete retried on the other node with its original event, and changes nothing', async () => {
    const task = await createTask(alice1, 'delete me once');
    const payload = { taskId: task.id, clientMutationId: 'del-task-1' };
    const first = await changeSeenByBob<{ event: BoardEventJson }>(alice1, 'task:delete', payload);
    const seq = await boardSeq(projectA.id);

    expect(await request(alice2, 'task:delete', payload)).toEqual({ ok: true, data: first });
    expect(await request(alice1, 'task:delete', payload)).toEqual({ ok: true, data: first });

    expect(await cluster.db.query('select id from tasks where id = $1', [task.id])).toEqual([]);
    expect(await eventsWith('del-task-1')).toEqual([{ project_id: projectA.id, seq: first.event.seq, type: 'task.deleted' }]);
    expect(await boardSeq(projectA.id)).toBe(seq);
    await settle();
    expect(bobGot('del-task-1')).toEqual([first.event]);
  });

  it('answers a column:delete retried on the other node with its original column and event', async () => {
    const { column } = await ok(alice1, 'column:create', { projectId: projectA.id, name: 'Short-lived' });
    const payload = { columnId: column.id, clientMutationId: 'del-column-1' };
    const first = await changeSeenByBob<{ column: ColumnJson; event: BoardEventJson }>(alice1, 'column:delete', payload);
    const seq = await boardSeq(projectA.id);

    expect(await request(alice2, 'column:delete', payload)).toEqual({ ok: true, data: first });

    expect(await cluster.db.query('select id from board_columns where id = $1', [column.id])).toEqual([]);
    expect(await eventsWith('del-column-1')).toEqual([{ project_id: projectA.id, seq: first.event.seq, type: 'column.deleted' }]);
    expect(await boardSeq(projectA.id)).toBe(seq);
    await settle();
    expect(bobGot('del-column-1')).toEqual([first.event]);
  });

  it('answers a task:update retried after someone else deleted the task; other changes to it stay NOT_FOUND', async () => {
    const task = await createTask(alice1, 'update me, then lose me');
    const payload = { taskId: task.id, patch: { priority: 4 }, clientMutationId: 'upd-1' };
    const first = await changeSeenByBob<{ task: TaskJson; event: BoardEventJson }>(alice1, 'task:update', payload);
    await ok(bob1, 'task:delete', { taskId: task.id });
    const seq = await boardSeq(projectA.id);

    expect(await request(alice2, 'task:update', payload)).toEqual({ ok: true, data: first });

    const notFound = { ok: false, error: { code: 'NOT_FOUND', message: 'task not found' } };
    expect(await request(alice2, 'task:update', { ...payload, clientMutationId: 'upd-2' })).toEqual(notFound);
    expect(await request(alice2, 'task:delete', { taskId: task.id, clientMutationId: 'del-after-bob' })).toEqual(notFound);
    expect(await request(alice2, 'task:delete', { taskId: task.id })).toEqual(notFound);
    expect(await request(alice2, 'task:delete', { taskId: randomUUID(), clientMutationId: 'upd-1' })).toEqual(notFound);
    expect(await request(alice2, 'task:delete', { taskId: randomUUID(), clientMutationId: 'never-1' })).toEqual(notFound);

    expect(await eventsWith('upd-1')).toEqual([{ project_id: projectA.id, seq: first.event.seq, type: 'task.updated' }]);
    expect(await eventsWith('upd-2')).toEqual([]);
    expect(await eventsWith('del-after-bob')).toEqual([]);
    expect(await boardSeq(projectA.id)).toBe(seq);
    await settle();
    expect(bobGot('upd-1')).toEqual([first.event]);
  });

  it('answers DELETE over HTTP retried on the other node with 204 again', async () => {
    const task = await createTask(alice1, 'delete me over HTTP');
    const path = `/orgs/${orgA.slug}/tasks/${task.id}`;
    expect((await api(n1(), 'DELETE', path, { clientMutationId: 'http-del-1' }, alice.token)).status).toBe(204);
    const seq = await boardSeq(projectA.id);

    expect((await api(n2(), 'DELETE', path, { clientMutationId: 'http-del-1' }, alice.token)).status).toBe(204);
    expect(await api(n2(), 'DELETE', path, { clientMutationId: 'http-del-2' }, alice.token)).toEqual({
      status: 404,
      body: { error: { code: 'NOT_FOUND', message: 'task not found' } },
    });

    expect(await eventsWith('http-del-1')).toEqual([{ project_id: projectA.id, seq, type: 'task.deleted' }]);
    expect(await boardSeq(projectA.id)).toBe(seq);
  });
});

describe('another tenant', () => {
  it('gets the NOT_FOUND of an unknown id for the deleted rows of A, even with their clientMutationIds', async () => {
    const task = await createTask(alice1, 'Alpha secret, deleted');
    const { column } = await ok(alice1, 'column:create', { projectId: projectA.id, name: 'Alpha secret column' });
    const deleted = await changeSeenByBob<{ event: BoardEventJson }>(alice1, 'task:delete', {
      taskId: task.id,
      clientMutationId: 'shared-1',
    });
    await changeSeenByBob(alice1, 'column:delete', { columnId: column.id, clientMutationId: 'shared-2' });
    // The owner's retry is answered on node 2, which from then on knows where A's deleted task was.
    expect(await request(alice2, 'task:delete', { taskId: task.id, clientMutationId: 'shared-1' })).toEqual({ ok: true, data: deleted });

    // Mallory uses the same clientMutationIds on her own board, then tries them on A's ids.
    const mallory1 = await connect(n1(), { token: mallory.token });
    const mallory2 = await connect(n2(), { token: mallory.token });
    await ok(mallory2, 'board:join', { projectId: projectM.id });
    const malloryGot = [recordAll(mallory1), recordAll(mallory2)];
    const own = await createTask(mallory1, 'Mallory task', projectM.id, columnsM[0]!.id);
    await ok(mallory1, 'task:delete', { taskId: own.id, clientMutationId: 'shared-1' });
    const seqA = await boardSeq(projectA.id);
    const seqM = await boardSeq(projectM.id);

    const unknownTask = { ok: false, error: { code: 'NOT_FOUND', message: 'task not found' } };
    const unknownColumn = { ok: false, error: { code: 'NOT_FOUND', message: 'column not found' } };
    for (const socket of [mallory1, mallory2]) {
      for (const clientMutationId of ['shared-1', 'shared-2']) {
        expect(await request(socket, 'task:delete', { taskId: task.id, clientMutationId })).toEqual(unknownTask);
        expect(await request(socket, 'task:delete', { taskId: randomUUID(), clientMutationId })).toEqual(unknownTask);
        expect(await request(socket, 'task:update', { taskId: task.id, patch: { title: 'x' }, clientMutationId })).toEqual(unknownTask);
        expect(await request(socket, 'column:delete', { columnId: column.id, clientMutationId })).toEqual(unknownColumn);
        expect(await request(socket, 'column:delete', { columnId: randomUUID(), clientMutationId })).toEqual(unknownColumn);
      }
    }
    const overHttp = async (slug: string, taskId: string) =>
      api(n2(), 'DELETE', `/orgs/${slug}/tasks/${taskId}`, { clientMutationId: 'shared-1' }, mallory.token);
    expect(await overHttp(orgM.slug, task.id)).toEqual(await overHttp(orgM.slug, randomUUID()));
    expect((await overHttp(orgM.slug, task.id)).status).toBe(404);
    expect(await overHttp(orgA.slug, task.id)).toEqual(await overHttp(orgA.slug, randomUUID()));
    expect((await overHttp(orgA.slug, task.id)).status).toBe(403);

    expect(await boardSeq(projectA.id)).toBe(seqA);
    expect(await boardSeq(projectM.id)).toBe(seqM);
    const shared = await eventsWith('shared-1');
    expect(shared).toHaveLength(2);
    expect(shared).toEqual(
      expect.arrayContaining([
        { project_id: projectA.id, seq: deleted.event.seq, type: 'task.deleted' },
        { project_id: projectM.id, seq: seqM, type: 'task.deleted' },
      ]),
    );
    await Promise.all([barrier(mallory1), barrier(mallory2)]);
    const heard = JSON.stringify(malloryGot);
    for (const secret of [orgA.id, projectA.id, task.id, column.id, 'Alpha']) expect(heard).not.toContain(secret);
  });
});

describe('a node that restarted', () => {
  it('answers a task:delete retried on it with the original event', async () => {
    const task = await createTask(alice1, 'delete me before the restart');
    const payload = { taskId: task.id, clientMutationId: 'del-restart-1' };
    const first = await changeSeenByBob<{ event: BoardEventJson }>(alice1, 'task:delete', payload);
    const seq = await boardSeq(projectA.id);

    await cluster.node1.stop();
    cluster.node1 = await startServerProcess('node1', { DATABASE_URL: cluster.db.url, REDIS_URL: cluster.redis.url, JWT_SECRET });
    alice1 = await connect(n1(), { token: alice.token });

    expect(await request(alice1, 'task:delete', payload)).toEqual({ ok: true, data: first });
    expect(await eventsWith('del-restart-1')).toEqual([{ project_id: projectA.id, seq: first.event.seq, type: 'task.deleted' }]);
    expect(await boardSeq(projectA.id)).toBe(seq);
    await settle();
    expect(bobGot('del-restart-1')).toEqual([first.event]);
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, LabelJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, recordBoardEvents, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let actor: ClientSocket;
let watcher: ClientSocket;
let seen: BoardEventJson[];

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  org = await createOrg(node.url, await registerUser(node.url, 'alice'));
  const bob = await registerUser(node.url, 'bob');
  await addMember(node.url, org, bob, 'member');
  actor = await connect(node.url, { token: org.owner.token });
  watcher = await connect(node.url, { token: bob.token });
  seen = recordBoardEvents(watcher);
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

interface Board {
  project: ProjectJson;
  columns: ColumnJson[];
  /** The board's `seq` when the watcher joined it. */
  joinedAt: number;
}

/** A new board, joined by the watcher. */
async function board(name: string): Promise<Board> {
  const { project, columns } = await createProject(node.url, org, name);
  const { seq } = await ok(watcher, 'board:join', { projectId: project.id });
  return { project, columns, joinedAt: seq };
}

async function label(name: string): Promise<LabelJson> {
  return (await api(node.url, 'POST', `/orgs/${org.slug}/labels`, { name, color: '#d73a4a' }, org.owner.token)).body;
}

async function task(on: Board, title: string, labelIds: string[] = []): Promise<TaskJson> {
  return (await ok(actor, 'task:create', { projectId: on.project.id, columnId: on.columns[0]!.id, title, labelIds })).task;
}

const deleteLabel = (id: string) => api(node.url, 'DELETE', `/orgs/${org.slug}/labels/${id}`, undefined, org.owner.token);

async function labelsInDatabase(taskId: string): Promise<string[]> {
  const rows = await db.query<{ label_id: string }>('select label_id from task_labels where task_id = $1 order by label_id', [taskId]);
  return rows.map((row) => row.label_id);
}

/**
 * Waits until the watcher has every event of the board's log since it joined, then checks that
 * the broadcast and the replay (`sinceSeq`) give the same events, in `seq` order with no gap, and
 * that each task's labels in the database are what the last event about it said.
 */
async function expectLogMatchesDatabase(on: Board, tasks: TaskJson[]): Promise<BoardEventJson[]> {
  const [{ seq }] = (await db.query<{ seq: number }>('select seq from projects where id = $1', [on.project.id])) as [{ seq: number }];
  const broadcast = () => seen.filter((event) => event.projectId === on.project.id);
  await eventually(() => expect(broadcast().length).toBe(seq - on.joinedAt));
  const replay = await ok(watcher, 'board:join', { projectId: on.project.id, sinceSeq: on.joinedAt });
  expect(replay.events).toEqual(broadcast());
  expect(broadcast().map((event) => event.seq)).toEqual(Array.from({ length: seq - on.joinedAt }, (_, i) => on.joinedAt + 1 + i));
  for (const t of tasks) {
    const last = broadcast()
      .filter((event) => (event.data as { task?: TaskJson }).task?.id === t.id)
      .at(-1);
    expect(await labelsInDatabase(t.id)).toEqual((last?.data as { task: TaskJson } | undefined)?.task.labelIds ?? t.labelIds);
  }
  return broadcast();
}

describe('deleting a label', () => {
  it('takes it off the tasks of active and archived boards at once, each with a task.updated in its board', async () => {
    const active = await board('Active');
    const frozen = await board('Frozen');
    const bug = await label('bug');
    const keep = await label('keep');
    const onActive = await task(active, 'On active', [bug.id]);
    const alsoOnActive = await task(active, 'Also on active', [keep.id, bug.id]);
    const onFrozen = await task(frozen, 'On frozen', [bug.id, keep.id]);
    const untouched = await task(active, 'Untouched', [keep.id]);
    const archived = await api(
      node.url,
      'PATCH',
      `/orgs/${org.slug}/projects/${frozen.project.id}`,
      { status: 'archived' },
      org.owner.token,
    );
    expect(archived.status).toBe(200);

    expect((await deleteLabel(bug.id)).status).toBe(204);

    expect(await db.query('select 1 from labels where id = $1', [bug.id])).toEqual([]);
    expect(await labelsInDatabase(onActive.id)).toEqual([]);
    expect(await labelsInDatabase(alsoOnActive.id)).toEqual([keep.id]);
    expect(await labelsInDatabase(onFrozen.id)).toEqual([keep.id]);
    const activeEvents = await expectLogMatchesDatabase(active, [onActive, alsoOnActive, untouched]);
    const frozenEvents = await expectLogMatchesDatabase(frozen, [onFrozen]);
    expect(activeEvents.slice(-2).map((event) => event.data)).toEqual(
      expect.arrayContaining([
        { task: { ...onActive, labelIds: [], version: onActive.version + 1, updatedAt: expect.any(String) }, changed: ['labelIds'] },
        {
          task: { ...alsoOnActive, labelIds: [keep.id], version: alsoOnActive.version + 1, updatedAt: expect.any(String) },
          changed: ['labelIds'],
        },
      ]),
    );
    expect(frozenEvents.at(-1)).toMatchObject({
      type: 'task.updated',
      data: { task: { id: onFrozen.id, labelIds: [keep.id] }, changed: ['labelIds'] },
    });
    // The archived board stays read-only to its users.
    const edit = await request(actor, 'task:update', { taskId: onFrozen.id, patch: { title: 'Thawed' } });
    expect(edit).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect((await deleteLabel(bug.id)).status).toBe(404);
  });

  it('refuses an add of the label made while it is being deleted, or removes it again with an event', async () => {
    const first = await board('First');
    const second = await board('Second');
    const bug = await label('racing');
    const carrier = await task(first, 'Carrier', [bug.id]);
    const z = await task(second, 'Z');

    // Hold the carrier's row, so that the delete stops partway, while the label is added to Z.
    const release = await holdLock(db, `select 1 from tasks where id = '${carrier.id}' for update`);
    try {
      const deleting = deleteLabel(bug.id);
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      let settled = false;
      const adding = request(actor, 'task:update', { taskId: z.id, patch: { labelIds: [bug.id] } }).finally(() => (settled = true));
      // The add either completes now or waits for the delete; either way it has had its chance.
      await eventually(async () => {
        if (!settled) expect(await lockWaiters(db)).toBe(2);
      });
      await release();

      expect((await deleting).status).toBe(204);
      const added = await adding;
      if (!added.ok) expect(['NOT_FOUND', 'VALIDATION_FAILED']).toContain(added.error.code);
    } finally {
      await release();
    }
    expect(await db.query('select 1 from labels where id = $1', [bug.id])).toEqual([]);
    expect(await labelsInDatabase(z.id)).toEqual([]);
    await expectLogMatchesDatabase(first, [carrier]);
    await expectLogMatchesDatabase(second, [z]);
  });

  it('answers 404 for an unknown label at once, without waiting for the boards a deletion locks', async () => {
    await board('Held');
    const release = await holdLock(db, `select 1 from projects where org_id = '${org.id}' for update`);
    try {
      // Waiting, it would hold one of the node's database connections till the lock went.
      const answer = await deleteLabel('00000000-0000-4000-8000-000000000000');
      expect(answer.status).toBe(404);
    } finally {
      await release();
    }
  });

  it('refuses the label, as unknown, on a task of a board made while it is being deleted', async () => {
    const first = await board('Before the delete');
    const doomed = await label('doomed');
    const carrier = await task(first, 'Carrier', [doomed.id]);

    const release = await holdLock(db, `select 1 from tasks where id = '${carrier.id}' for update`);
    try {
      const deleting = deleteLabel(doomed.id);
      await eventually(async () => expect(await lockWaiters(db)).toBe(1));
      // A board the delete did not lock: a task made there with the label waits for the label's row.
      const later = await board('Made during the delete');
      const creating = request(actor, 'task:create', {
        projectId: later.project.id,
        columnId: later.columns[0]!.id,
        title: 'Labelled late',
        labelIds: [doomed.id],
      });
      await eventually(async () => expect(await lockWaiters(db)).toBe(2));
      await release();

      expect((await deleting).status).toBe(204);
      expect(await creating).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
      expect(await db.query('select 1 from tasks where project_id = $1', [later.project.id])).toEqual([]);
    } finally {
      await release();
    }
  });
});

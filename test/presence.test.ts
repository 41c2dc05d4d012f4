import { randomUUID } from 'node:crypto';
import type { Socket as TcpSocket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnJson, ProjectJson, TaskJson, Viewer } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, markEditing, nextEvent, ok, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let alice: TestUser;
let bob: TestUser;
/** Joins a board only to have its list sent afresh (see `listNow`). */
let carol: TestUser;
/** The owner of org B, who names org A's task on org B's board. */
let mallory: TestUser;
let project: ProjectJson;
let columns: ColumnJson[];
let task: TaskJson;
/** A task of another board of the same org. */
let otherBoardTask: TaskJson;
/** A task of org B's board. */
let otherOrgTask: TaskJson;
/** Org B's board. */
let malloryProject: ProjectJson;
/** Alice's org, where bob and carol are viewers. */
let org: TestOrg;

async function createTask(org: TestOrg, board: { project: ProjectJson; columns: ColumnJson[] }, title: string): Promise<TaskJson> {
  const path = `/orgs/${org.slug}/projects/${board.project.id}/tasks`;
  const answer = await api(node.url, 'POST', path, { columnId: board.columns[0]!.id, title }, org.owner.token);
  if (answer.status !== 201) throw new Error(`create task failed: ${answer.status} ${JSON.stringify(answer.body)}`);
  return answer.body.task;
}

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  [alice, bob, carol, mallory] = await Promise.all(['alice', 'bob', 'carol', 'mallory'].map((name) => registerUser(node.url, name)));
  org = await createOrg(node.url, alice);
  await addMember(node.url, org, bob, 'viewer');
  await addMember(node.url, org, carol, 'viewer');
  const board = await createProject(node.url, org);
  ({ project, columns } = board);
  task = await createTask(org, board, 'on the board');
  otherBoardTask = await createTask(org, await createProject(node.url, org, 'Other board'), 'on another board');

  const malloryOrg = await createOrg(node.url, mallory);
  await addMember(node.url, malloryOrg, carol, 'viewer');
  const malloryBoard = await createProject(node.url, malloryOrg);
  malloryProject = malloryBoard.project;
  otherOrgTask = await createTask(malloryOrg, malloryBoard, 'of org B');
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

type PresenceChanged = { projectId: string; viewers: Viewer[] };
const names = (p: PresenceChanged) => p.viewers.map((v) => v.name);
const NO_SUCH_TASK = { ok: false, error: { code: 'NOT_FOUND', message: 'task not found' } };

/** Every presence list a socket is sent, to check that a refused id never reached anyone. */
function recordLists(socket: ClientSocket): PresenceChanged[] {
  const seen: PresenceChanged[] = [];
  socket.on('presence:changed', (list) => seen.push(list));
  return seen;
}

/**
 * The board's list as `watcher` is sent it now: carol joins, so a list is sent that was made
 * after everything acknowledged before; she then leaves, and her leaving is seen too, so that
 * the next call starts from a list without her.
 */
async function listNow(watcher: ClientSocket, projectId: string): Promise<Viewer[]> {
  const carolSocket = await connect(node.url, { token: carol.token });
  const withCarol = nextEvent<PresenceChanged>(watcher, 'presence:changed', (p) => p.projectId === projectId && names(p).includes('carol'));
  await ok(carolSocket, 'board:join', { projectId });
  const { viewers } = await withCarol;
  const withoutCarol = nextEvent<PresenceChanged>(
    watcher,
    'presence:changed',
    (p) => p.projectId === projectId && !names(p).includes('carol'),
  );
  carolSocket.disconnect();
  await withoutCarol;
  return viewers.filter((v) => v.name !== 'carol');
}

describe('presence', () => {
  it('lists who is on the board and what they edit, and forgets a socket that leaves or disconnects', async () => {
    const aliceSocket = await connect(node.url, { token: alice.token });
    const bobSocket = await connect(node.url, { token: bob.token });
    const aliceAlone = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice');
    await ok(aliceSocket, 'board:join', { projectId: project.id });
    expect((await aliceAlone).projectId).toBe(project.id);

    const both = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice,bob');
    await ok(bobSocket, 'board:join', { projectId: project.id });
    expect((await both).viewers).toContainEqual({ kind: 'user', id: bob.user.id, name: 'bob' });

    const editing = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => p.viewers.some((v) => v.editingTaskId === task.id));
    await ok(bobSocket, 'presence:update', { projectId: project.id, editingTaskId: task.id });
    expect((await editing).viewers.find((v) => v.id === bob.user.id)?.editingTaskId).toBe(task.id);

    const left = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice');
    await ok(bobSocket, 'board:leave', { projectId: project.id });
    await left;

    await ok(bobSocket, 'board:join', { projectId: project.id });
    await nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice,bob');
    const gone = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice');
    bobSocket.disconnect();
    await gone;
  });

  it('forgets what anyone was editing of a card once it is deleted, and tells the board', async () => {
    const gone = await createTask(org, { project, columns }, 'to be deleted');
    const aliceSocket = await connect(node.url, { token: alice.token });
    const bobSocket = await connect(node.url, { token: bob.token });
    try {
      await ok(aliceSocket, 'board:join', { projectId: project.id });
      await ok(bobSocket, 'board:join', { projectId: project.id });
      await markEditing(aliceSocket, bobSocket, project.id, gone.id);

      // Before: the list went on naming the deleted card as bob's until bob's next update.
      const forgotten = nextEvent<PresenceChanged>(
        bobSocket,
        'presence:changed',
        (p) => names(p).join() === 'alice,bob' && p.viewers.every((v) => v.editingTaskId === undefined),
      );
      await ok(aliceSocket, 'task:delete', { taskId: gone.id });
      await forgotten;
    } finally {
      aliceSocket.disconnect();
      bobSocket.disconnect();
    }
  });

  it('hears a socket come back after a rejoin whose replay fell back to the snapshot, then a leave', async () => {
    const aliceSocket = await connect(node.url, { token: alice.token });
    const bobSocket = await connect(node.url, { token: bob.token });
    await ok(aliceSocket, 'board:join', { projectId: project.id });
    // A sinceSeq past the board's seq (a client of another database, say) is answered with the snapshot.
    const both = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice,bob');
    expect(await ok(bobSocket, 'board:join', { projectId: project.id, sinceSeq: 1_000_000 })).toHaveProperty('tasks');
    await both;
    const serverSide = node.server.io.sockets.sockets.get(bobSocket.id!)!;
    expect(serverSide.data.joining).toBeUndefined(); // nothing of the join is kept once it is answered
    const left = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice');
    await ok(bobSocket, 'board:leave', { projectId: project.id });
    await left;
    const back = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice,bob');
    await ok(bobSocket, 'board:join', { projectId: project.id });
    await back;
    aliceSocket.disconnect();
    bobSocket.disconnect();
  });

  it('forgets what a member was editing when they are removed: re-added, their socket rejoins editing nothing', async () => {
    const aliceSocket = await connect(node.url, { token: alice.token });
    const bobSocket = await connect(node.url, { token: bob.token });
    for (const socket of [aliceSocket, bobSocket]) await ok(socket, 'board:join', { projectId: project.id });
    const bobOf = (p: PresenceChanged) => p.viewers.find((v) => v.id === bob.user.id);
    const editing = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => bobOf(p)?.editingTaskId === task.id);
    await ok(bobSocket, 'presence:update', { projectId: project.id, editingTaskId: task.id });
    await editing;

    const removed = nextEvent(bobSocket, 'access:revoked');
    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/members/${bob.user.id}`, undefined, alice.token)).status).toBe(204);
    await removed;
    await addMember(node.url, org, bob, 'viewer');
    const back = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => bobOf(p) !== undefined);
    await ok(bobSocket, 'board:join', { projectId: project.id });
    expect(bobOf(await back)).toEqual({ kind: 'user', id: bob.user.id, name: 'bob' });
    aliceSocket.disconnect();
    bobSocket.disconnect();
  });

  it("takes a socket's join and leave of a board in the order sent: a leave sent before the join is answered is not lost", async () => {
    // An account's events run several at once; a leave that overtook its join found no room to
    // leave, and the join then put the socket there for good: a ghost in the list, sent every event.
    const aliceSocket = await connect(node.url, { token: alice.token });
    await ok(aliceSocket, 'board:join', { projectId: project.id });
    const bobSocket = await connect(node.url, { token: bob.token });
    const [joined, left] = await Promise.all([
      request(bobSocket, 'board:join', { projectId: project.id }),
      request(bobSocket, 'board:leave', { projectId: project.id }),
    ]);
    expect(joined).toMatchObject({ ok: true, data: { project: { id: project.id } } });
    expect(left).toEqual({ ok: true, data: {} });
    const serverSide = node.server.io.of('/').sockets.get(bobSocket.id!)!;
    expect([...serverSide.rooms].filter((room) => room.includes(':project:'))).toEqual([]);
    expect((await listNow(aliceSocket, project.id)).map((viewer) => viewer.name)).toEqual(['alice']);
    aliceSocket.disconnect();
    bobSocket.disconnect();
  });

  it('refuses presence on a board the socket has not joined', async () => {
    const socket = await connect(node.url, { token: bob.token });
    const refused = await request(socket, 'presence:update', { projectId: project.id, editingTaskId: null });
    expect(refused).toMatchObject({ ok: false, error: { code: 'NOT_FOUND', message: 'board not joined: send board:join first' } });
  });

  it('writes a list within the time its schedule measures, so that a join storm stays within the budget', async () => {
    // The schedule gives lists a tenth of the node's time by what sending them is measured to
    // cost, and writing is most of it. Were a list written at the end of the tick with the other
    // packets (`coalesced-writes.ts`), after the measurement, a storm's lists would seem almost
    // free and none would be merged: 13.2 KB written a socket in the bench's connect ramp instead
    // of 8.3. So the write that carries a list to a viewer must come from presence's own send.
    const aliceSocket = await connect(node.url, { token: alice.token });
    await ok(aliceSocket, 'board:join', { projectId: project.id });
    await listNow(aliceSocket, project.id); // alice's own list is out
    const connection = node.server.io.of('/').sockets.get(aliceSocket.id!)!.conn as unknown as {
      transport: { socket: { _socket: TcpSocket & Pick<Required<TcpSocket>, '_write' | '_writev'> } };
    };
    const tcp = connection.transport.socket._socket;
    const writers: string[] = [];
    const [write, writev] = [tcp._write.bind(tcp), tcp._writev.bind(tcp)];
    const limit = Error.stackTraceLimit;
    const caller = () => {
      Error.stackTraceLimit = 100;
      writers.push(new Error().stack ?? '');
      Error.stackTraceLimit = limit;
    };
    tcp._write = (...args) => (caller(), write(...args));
    tcp._writev = (...args) => (caller(), writev(...args));
    try {
      await listNow(aliceSocket, project.id); // carol comes and goes: two lists
    } finally {
      [tcp._write, tcp._writev] = [write, writev];
    }
    expect(writers).toHaveLength(2);
    for (const stack of writers) expect(stack).toMatch(/presence\/presence\.ts/);
    aliceSocket.disconnect();
  });

  describe('refuses an editingTaskId that is not a task of the board, and keeps the list as it was', () => {
    let aliceSocket: ClientSocket;
    let bobSocket: ClientSocket;
    let seen: PresenceChanged[];

    beforeAll(async () => {
      aliceSocket = await connect(node.url, { token: alice.token });
      bobSocket = await connect(node.url, { token: bob.token });
      seen = recordLists(aliceSocket);
      await ok(aliceSocket, 'board:join', { projectId: project.id });
      await ok(bobSocket, 'board:join', { projectId: project.id });
      await markEditing(aliceSocket, bobSocket, project.id, task.id);
    });

    /** What alice's board shows: bob still editing the board's task, and no list that named `refusedId`. */
    async function expectUnchanged(refusedId: string): Promise<void> {
      const viewers = await listNow(aliceSocket, project.id);
      expect(viewers.find((v) => v.id === bob.user.id)?.editingTaskId).toBe(task.id);
      expect(seen.flatMap((list) => list.viewers).filter((v) => v.editingTaskId === refusedId)).toEqual([]);
    }

    it('a task of another board of the same org', async () => {
      const refused = await request(bobSocket, 'presence:update', { projectId: project.id, editingTaskId: otherBoardTask.id });
      expect(refused).toEqual(NO_SUCH_TASK);
      await expectUnchanged(otherBoardTask.id);
    });

    it('an id that names no task', async () => {
      const unknownId = randomUUID();
      const refused = await request(bobSocket, 'presence:update', { projectId: project.id, editingTaskId: unknownId });
      expect(refused).toEqual(NO_SUCH_TASK);
      await expectUnchanged(unknownId);
    });

    it('a task of another org, with the same answer', async () => {
      const refused = await request(bobSocket, 'presence:update', { projectId: project.id, editingTaskId: otherOrgTask.id });
      expect(refused).toEqual(NO_SUCH_TASK);
      await expectUnchanged(otherOrgTask.id);
    });

    it('a task of another org, named by a member of that other org on a board of their own', async () => {
      const mallorySocket = await connect(node.url, { token: mallory.token });
      const malloryLists = recordLists(mallorySocket);
      await ok(mallorySocket, 'board:join', { projectId: malloryProject.id });
      const refused = await request(mallorySocket, 'presence:update', { projectId: malloryProject.id, editingTaskId: task.id });
      expect(refused).toEqual(NO_SUCH_TASK);
      const viewers = await listNow(mallorySocket, malloryProject.id);
      expect(viewers).toEqual([{ kind: 'user', id: mallory.user.id, name: 'mallory' }]);
      expect(malloryLists.flatMap((list) => list.viewers).filter((v) => v.editingTaskId)).toEqual([]);
    });

    it('applies a socket’s updates in the order it sent them, the one checked in the database too', async () => {
      const [checked, cleared] = await Promise.all([
        request(bobSocket, 'presence:update', { projectId: project.id, editingTaskId: task.id }),
        request(bobSocket, 'presence:update', { projectId: project.id, editingTaskId: null }),
      ]);
      expect([checked.ok, cleared.ok]).toEqual([true, true]);
      const viewers = await listNow(aliceSocket, project.id);
      expect(viewers.find((v) => v.id === bob.user.id)).toEqual({ kind: 'user', id: bob.user.id, name: 'bob' });
    });
  });
});

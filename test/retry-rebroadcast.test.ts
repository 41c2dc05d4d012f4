import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, ProjectJson } from '../shared/wire.js';
import { createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, recordBoardEvents } from './support/sockets.js';

// A change can commit and yet never be broadcast: its connection breaks at the commit, so its node
// answers UNAVAILABLE, or its node dies right after. The client then retries with the same
// clientMutationId, maybe on another node, and gets the original event from the log: that answer
// must also reach the board's other members. Two nodes without Redis stand in for that here: what
// node A commits, node B's sockets never hear of, until B answers a retry of it.
let db: TestDatabase;
let nodeA: RunningServer;
let nodeB: RunningServer;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];

beforeAll(async () => {
  db = await createTestDatabase();
  nodeA = await startServer({ DATABASE_URL: db.url });
  nodeB = await startServer({ DATABASE_URL: db.url });
  org = await createOrg(nodeA.url, await registerUser(nodeA.url, 'alice'));
  ({ project, columns } = await createProject(nodeA.url, org));
});

afterAll(async () => {
  closeAllSockets();
  await nodeA?.close();
  await nodeB?.close();
  await db?.drop();
});

async function joined(url: string): Promise<{ socket: ClientSocket; seen: BoardEventJson[] }> {
  const socket = await connect(url, { token: org.owner.token });
  await ok(socket, 'board:join', { projectId: project.id });
  return { socket, seen: recordBoardEvents(socket) };
}

describe('a retry answered from the event log', () => {
  it('sends the event to the members that never had it, and not again where it was sent', async () => {
    const [senderOnA, watcherOnA, senderOnB, watcherOnB] = [
      await joined(nodeA.url),
      await joined(nodeA.url),
      await joined(nodeB.url),
      await joined(nodeB.url),
    ];
    const create = { projectId: project.id, columnId: columns[0]!.id, title: 'Committed, then retried', clientMutationId: 'lost-answer' };
    const first = await ok(senderOnA.socket, 'task:create', create);
    await eventually(() => expect(watcherOnA.seen.map((event) => event.seq)).toEqual([first.event.seq]));

    // The retry, on node B: the original answer, and B's sockets hear of the change.
    const retriedOnB = await ok(senderOnB.socket, 'task:create', create);
    expect(retriedOnB.event).toEqual(first.event);
    await eventually(() => expect(watcherOnB.seen).toEqual([first.event]));
    expect(senderOnB.seen).toEqual([]); // the retrying socket has it from its ack

    // The retry again on node A, which sent it: nothing goes out again (the next change comes first).
    expect((await ok(senderOnA.socket, 'task:create', create)).event).toEqual(first.event);
    const next = await ok(senderOnA.socket, 'task:update', { taskId: first.task.id, patch: { title: 'Next' } });
    await eventually(() => expect(watcherOnA.seen.at(-1)?.seq).toBe(next.event.seq));
    expect(watcherOnA.seen.map((event) => event.seq)).toEqual([first.event.seq, next.event.seq]);
  });
});

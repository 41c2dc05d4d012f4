import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { type TaskFlowClient, TaskFlowError } from '../client/index.js';
import { namedDelayMs } from '../client/errors.js';
import { afterRefusal } from '../client/mutation-queue.js';
import type { ColumnJson, ProjectJson } from '../shared/wire.js';
import { api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { clientEvent, closeAllClients, openClient, stateOf } from './support/sdk.js';
import { eventually } from './support/sockets.js';
import { type RunningServer, startServer } from './support/server.js';

// How the SDK delivers mutations when the connection or the database misbehaves. Node A is plain;
// node S answers any event still waiting after one second with UNAVAILABLE; node L lets a socket
// send five events a second.
let db: TestDatabase;
let nodeA: RunningServer;
let nodeS: RunningServer;
let nodeL: RunningServer;
let alice: TestUser;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];

beforeAll(async () => {
  db = await createTestDatabase();
  nodeA = await startServer({ DATABASE_URL: db.url });
  nodeS = await startServer({ DATABASE_URL: db.url, ANSWER_DEADLINE: '1s' });
  nodeL = await startServer({ DATABASE_URL: db.url, SOCKET_RATE_LIMIT: '5' });
  alice = await registerUser(nodeA.url, 'alice');
  org = await createOrg(nodeA.url, alice);
  ({ project, columns } = await createProject(nodeA.url, org));
}, 60_000);

afterEach(() => closeAllClients());

afterAll(async () => {
  await Promise.all([nodeA?.close(), nodeS?.close(), nodeL?.close()]);
  await db?.drop();
});

async function live(url: string, options = {}) {
  const opened = openClient(url, { token: alice.token }, options);
  await opened.client.connect();
  const board = await opened.client.joinBoard(project.id);
  return { ...opened, board };
}

const taskRow = async (id: string) =>
  (await db.query<{ title: string; column_id: string }>('select title, column_id from tasks where id = $1', [id]))[0]!;

describe('the order of mutations', () => {
  it('sends what was made while offline in the order it was made: the last edit wins', async () => {
    const { client, board } = await live(nodeA.url);
    const { task } = await client.createTask({ projectId: project.id, columnId: columns[0]!.id, title: 'offline' });
    for (const socket of nodeA.server.io.of('/').sockets.values()) socket.disconnect(true);
    await stateOf(client, 'reconnecting');
    const made: Promise<unknown>[] = [];
    for (let i = 1; i <= 30; i++) {
      made.push(client.updateTask({ taskId: task.id, patch: { title: `rename ${i}` } }));
      made.push(client.moveTask({ taskId: task.id, columnId: columns[i % 3]!.id }));
    }
    made.push(client.moveTask({ taskId: task.id, columnId: columns[2]!.id }));
    await Promise.all(made);
    expect(await taskRow(task.id)).toEqual({ title: 'rename 30', column_id: columns[2]!.id });
    expect(board.tasks.get(task.id)).toMatchObject({ title: 'rename 30', columnId: columns[2]!.id });
  });

  it('tells the cards of a board being created until the server has answered them', async () => {
    const { client, board } = await live(nodeA.url);
    const other = await createProject(nodeA.url, org);
    for (const socket of nodeA.server.io.of('/').sockets.values()) socket.disconnect(true);
    await stateOf(client, 'reconnecting');
    const made = [
      client.createTask({ projectId: project.id, columnId: columns[0]!.id, title: 'on the train' }),
      client.createTask({ projectId: other.project.id, columnId: other.columns[0]!.id, title: 'another board' }),
      client.createTask({ projectId: project.id, columnId: columns[1]!.id, title: 'and in a tunnel' }),
    ];
    const beingCreated = client.tasksBeingCreated(project.id);
    expect(beingCreated).toEqual([
      { projectId: project.id, columnId: columns[0]!.id, title: 'on the train', clientMutationId: expect.any(String) },
      { projectId: project.id, columnId: columns[1]!.id, title: 'and in a tunnel', clientMutationId: expect.any(String) },
    ]);
    const [onTheTrain, , inATunnel] = await Promise.all(made);
    expect(client.tasksBeingCreated(project.id)).toEqual([]);
    expect([onTheTrain!.event!.clientMutationId, inATunnel!.event!.clientMutationId]).toEqual(
      beingCreated.map((task) => task.clientMutationId),
    );
    expect(board.tasks.get(onTheTrain!.task.id)).toMatchObject({ title: 'on the train' });
  });

  it("hands what a closing client has not sent to another of the same user, whose answers settle the first one's promises", async () => {
    // What the web board does when its session ends while the connection is away, and the user signs in again.
    const away = await startServer({ DATABASE_URL: db.url });
    const { client: first } = openClient(away.url, { token: alice.token });
    await first.connect();
    await away.close();
    await stateOf(first, 'reconnecting');
    const title = `handed over ${randomUUID()}`;
    const created = first.createTask({ projectId: project.id, columnId: columns[0]!.id, title });
    const beingCreated = first.tasksBeingCreated(project.id);
    const handed = first.handOver();
    first.close();
    expect(first.unacknowledged).toBe(0);
    expect(handed.map((change) => [change.event, change.payload.clientMutationId])).toEqual([
      ['task:create', beingCreated[0]!.clientMutationId],
    ]);

    const { client: second, board } = await live(nodeA.url);
    second.sendAgain(handed);
    const { task, event } = await created;
    expect(event!.clientMutationId).toBe(beingCreated[0]!.clientMutationId);
    expect(board.tasks.get(task.id)).toMatchObject({ title });
    expect(await db.query('select id from tasks where title = $1', [title])).toEqual([{ id: task.id }]);
    // Sent again by a third (its answer lost, say), it is answered the same, applied once.
    const third = openClient(nodeA.url, { token: alice.token }).client;
    await third.connect();
    const again = new Promise((resolve, reject) => third.sendAgain([{ ...handed[0]!, resolve, reject }]));
    await expect(again).resolves.toMatchObject({ task: { id: task.id }, event: { seq: event!.seq } });
    expect(await db.query('select id from tasks where title = $1', [title])).toEqual([{ id: task.id }]);
  });

  it('lands two quick moves of one card in the order they were made', async () => {
    const { client } = await live(nodeA.url);
    for (let round = 0; round < 10; round++) {
      const { task } = await client.createTask({ projectId: project.id, columnId: columns[0]!.id, title: `quick ${round}` });
      await Promise.all([
        client.moveTask({ taskId: task.id, columnId: columns[1]!.id }),
        client.moveTask({ taskId: task.id, columnId: columns[2]!.id }),
      ]);
      expect((await taskRow(task.id)).column_id).toBe(columns[2]!.id);
    }
  });
});

describe('a slow database', () => {
  it('does not give up on a mutation the server keeps answering UNAVAILABLE, and lands it once', async () => {
    const { client, board, states } = await live(nodeS.url);
    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    let created: ReturnType<typeof client.createTask>;
    const triedThrice = sent(client, 'task:create', 3);
    try {
      created = client.createTask({ projectId: project.id, columnId: columns[0]!.id, title: 'slow but sure' });
      await triedThrice; // the first two tries were answered UNAVAILABLE at the server's deadline
      // The retries waited for the first try, still running on the node, instead of running again.
      expect(await lockWaiters(db)).toBe(1);
    } finally {
      await release();
    }
    const { task, event } = await created;
    expect(await db.query('select count(*)::int as n from tasks where title = $1', ['slow but sure'])).toEqual([{ n: 1 }]);
    expect(await db.query('select count(*)::int as n from board_events where client_mutation_id = $1', [event!.clientMutationId])).toEqual([
      { n: 1 },
    ]);
    expect(board.tasks.get(task.id)).toEqual(task);
    expect(states.at(-1)).toBe('live');
    expect(states.filter((state) => state === 'reconnecting')).toEqual([]);
  });

  it('rejects a join that gets no answer with a TaskFlowError DISCONNECTED, and drops that connection', async () => {
    const opened = openClient(nodeA.url, { token: alice.token }, { ackTimeoutMs: 300 });
    await opened.client.connect();
    const release = await holdLock(db, 'lock table tasks in access exclusive mode');
    try {
      const failure = await opened.client.joinBoard(project.id).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(TaskFlowError);
      expect(failure).toMatchObject({ code: 'DISCONNECTED' });
      await stateOf(opened.client, 'reconnecting');
    } finally {
      await release();
    }
    await stateOf(opened.client, 'live');
    expect((await opened.client.joinBoard(project.id)).project.id).toBe(project.id);
  });
});

describe('a rate limit', () => {
  it('waits the delay a RATE_LIMITED answer names and lands every mutation, without being disconnected', async () => {
    const { client, states } = await live(nodeL.url);
    const titles = Array.from({ length: 25 }, (_, i) => `limited ${i}`);
    const made = await Promise.allSettled(
      titles.map((title) => client.createTask({ projectId: project.id, columnId: columns[0]!.id, title })),
    );
    expect(made.filter((result) => result.status === 'rejected')).toEqual([]);
    const rows = await db.query<{ title: string }>('select title from tasks where title like $1 order by created_at, title', ['limited %']);
    expect(rows.map((row) => row.title)).toEqual(titles);
    expect(states.filter((state) => state === 'reconnecting')).toEqual([]);
  });
});

describe('a client on more boards than its socket may join at once', () => {
  it('rejoins them at the pace the rate limit allows after a dropped connection, and goes live with each board caught up', async () => {
    const boards = await Promise.all(Array.from({ length: 12 }, (_, i) => createProject(nodeA.url, org, `Many ${i}`)));
    const { client, states } = openClient(nodeL.url, { token: alice.token }); // 5 events a second, bursts of 10
    await client.connect();
    await joinEach(client, boards);
    for (const socket of nodeL.server.io.of('/').sockets.values()) socket.disconnect(true);
    await stateOf(client, 'reconnecting');
    const last = boards.at(-1)!;
    const { task } = await api(
      nodeA.url,
      'POST',
      `/orgs/${org.slug}/projects/${last.project.id}/tasks`,
      { columnId: last.columns[0]!.id, title: 'made while away' },
      alice.token,
    ).then((answer) => answer.body);
    await stateOf(client, 'live', 15_000);
    expect(client.boards.get(last.project.id)?.tasks.has(task.id)).toBe(true);
    expect(states.slice(states.lastIndexOf('reconnecting'))).toEqual(['reconnecting', 'resyncing', 'live']);
  }, 30_000);
});

describe('a client that said its presence on more boards than its socket may send at once', () => {
  it('says it again on each after a dropped connection, at the pace the rate limit allows, and stays connected', async () => {
    const boards = await Promise.all(Array.from({ length: 12 }, (_, i) => createProject(nodeA.url, org, `Present ${i}`)));
    const { client, states } = openClient(nodeL.url, { token: alice.token }); // 5 events a second, bursts of 10
    await client.connect();
    await joinEach(client, boards);
    for (const { project: board } of boards) await evenIfLimited(() => client.setPresence(board.id, null));
    for (const socket of nodeL.server.io.of('/').sockets.values()) socket.disconnect(true);
    await stateOf(client, 'reconnecting');
    await stateOf(client, 'live', 15_000);
    // Every board's presence is said again on the new connection, which is not dropped meanwhile.
    await eventually(() => {
      const [socket, ...others] = [...nodeL.server.io.of('/').sockets.values()];
      expect(others).toEqual([]);
      expect(Object.keys(socket!.data.editing).sort()).toEqual(boards.map(({ project: board }) => board.id).sort());
    }, 15_000);
    expect(states.slice(states.lastIndexOf('reconnecting'))).toEqual(['reconnecting', 'resyncing', 'live']);
  }, 40_000);
});

describe('a gap found on a board while the others still rejoin', () => {
  it("is caught up once the client is live, not left waiting for the board's next event", async () => {
    // One event a second, in bursts of two: of three boards, the third rejoins a second after the first two.
    const nodeR = await startServer({ DATABASE_URL: db.url, SOCKET_RATE_LIMIT: '1' });
    try {
      const boards = await Promise.all([0, 1, 2].map((i) => createProject(nodeA.url, org, `Gap ${i}`)));
      const { client } = openClient(nodeR.url, { token: alice.token }, { gapGraceMs: 50 });
      await client.connect();
      await joinEach(client, boards);
      const [{ project: first, columns: firstColumns }] = boards;
      const board = client.boards.get(first!.id)!;
      // Made on node A, which shares no Redis with node R: its event never reaches the client live.
      const create = (url: string, title: string) =>
        api(url, 'POST', `/orgs/${org.slug}/projects/${first!.id}/tasks`, { columnId: firstColumns![0]!.id, title }, alice.token);
      const unseen = (await create(nodeA.url, 'caught up by the rejoin')).body.task;
      const rejoined = new Promise<string>((resolve) => {
        const stop = client.on('board', (changed, event) => {
          if (changed !== board || event?.type !== 'task.created' || event.data.task.id !== unseen.id) return;
          stop();
          resolve(client.state);
        });
      });
      for (const socket of nodeR.server.io.of('/').sockets.values()) socket.disconnect(true);
      expect(await rejoined).toBe('resyncing');
      // Missed again, now while the other boards still rejoin: the next event shows the gap.
      const missed = (await create(nodeA.url, 'missed while rejoining')).body.task;
      const seen = (await create(nodeR.url, 'seen after it')).body.task;
      await eventually(() => {
        expect(board.gap).toBe(false);
        expect([board.tasks.has(missed.id), board.tasks.has(seen.id)]).toEqual([true, true]);
      });
      expect(client.state).toBe('live');
    } finally {
      await nodeR.close();
    }
  }, 30_000);
});

describe('a mutation over what a socket message may carry', () => {
  it('is refused at once with PAYLOAD_TOO_LARGE, and the next one lands on the same connection', async () => {
    const { client, states } = await live(nodeA.url);
    const huge = client.createTask({ projectId: project.id, columnId: columns[0]!.id, title: 'huge', description: 'é'.repeat(600_000) });
    await expect(huge).rejects.toMatchObject({ name: 'TaskFlowError', code: 'PAYLOAD_TOO_LARGE' });
    const { task } = await client.createTask({ projectId: project.id, columnId: columns[0]!.id, title: 'after the huge one' });
    expect((await taskRow(task.id)).title).toBe('after the huge one');
    expect(states.filter((state) => state === 'reconnecting')).toEqual([]);
  });
});

describe('a token provider whose tokens are refused', () => {
  it('tells each refusal as an error, and after five in a row ends closed with UNAUTHORIZED', async () => {
    let asked = 0;
    const { client, states } = openClient(nodeA.url, { token: () => `refused-${(asked += 1)}` }, { maxBackoffMs: 50 });
    const told = clientEvent(client, 'error', (error) => error instanceof TaskFlowError && error.code === 'UNAUTHORIZED');
    await expect(client.connect()).rejects.toMatchObject({ name: 'TaskFlowError', code: 'UNAUTHORIZED' });
    await told;
    expect(asked).toBe(5);
    expect(states.at(-1)).toBe('closed');
  });
});

/** Joins each board in turn, asking again after the delay a RATE_LIMITED refusal names. */
async function joinEach(client: TaskFlowClient, boards: Array<{ project: { id: string } }>): Promise<void> {
  for (const { project } of boards) await evenIfLimited(() => client.joinBoard(project.id));
}

/** `send`, again after the delay a RATE_LIMITED refusal names, until it is answered otherwise. */
async function evenIfLimited(send: () => Promise<unknown>): Promise<void> {
  for (;;) {
    const answer = await send().catch((error: unknown) => error);
    if (!(answer instanceof TaskFlowError && answer.code === 'RATE_LIMITED')) return;
    await new Promise((resolve) => setTimeout(resolve, namedDelayMs(answer) ?? 1000));
  }
}

/** Resolves once the client has sent `event` `n` times on its current connection. */
function sent(client: TaskFlowClient, event: string, n: number): Promise<void> {
  const socket = (client as unknown as { socket: Socket }).socket;
  let seen = 0;
  return new Promise((resolve) => {
    const count = (name: string) => {
      if (name !== event || (seen += 1) < n) return;
      socket.offAnyOutgoing(count);
      resolve();
    };
    socket.onAnyOutgoing(count);
  });
}

describe('the retry policy', () => {
  it('gives INTERNAL three tries of its own, whatever UNAVAILABLE answers came before', () => {
    const refused = { times: 0, internal: 0 };
    const unavailable = { code: 'UNAVAILABLE', message: 'the database is unavailable; try again' } as const;
    const internal = { code: 'INTERNAL', message: 'internal error' } as const;
    for (let i = 0; i < 5; i++) expect(afterRefusal(refused, unavailable)).toBeGreaterThan(0);
    expect(afterRefusal(refused, internal)).toBeGreaterThan(0);
    expect(afterRefusal(refused, unavailable)).toBeGreaterThan(0);
    expect(afterRefusal(refused, internal)).toBeGreaterThan(0);
    expect(afterRefusal(refused, internal)).toBeNull(); // the third INTERNAL is reported
    expect(afterRefusal({ times: 0, internal: 0 }, { code: 'FORBIDDEN', message: 'no' })).toBeNull();
  });
});

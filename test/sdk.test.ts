import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BoardState, TaskFlowClient, TaskFlowError } from '../client/index.js';
import type { BoardEventJson, BoardSnapshot, ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { canonical, clientEvent, closeAllClients, expectConverged, openClient, stateOf } from './support/sdk.js';
import { freePort } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, eventually, ok, request } from './support/sockets.js';

// Nodes A and B share the database but no Redis: a change made on one never reaches the other's
// sockets live, which is how a client comes to miss an event. Node T gives tokens two seconds.
const PASSWORD = 'correct horse battery';

let db: TestDatabase;
let nodeA: RunningServer;
let nodeB: RunningServer;
let nodeT: RunningServer;
let org: TestOrg;
let alice: TestUser;
let bob: TestUser;
let vera: TestUser;
let project: ProjectJson;
let columns: ColumnJson[];

beforeAll(async () => {
  db = await createTestDatabase();
  nodeA = await startServer({ DATABASE_URL: db.url });
  nodeB = await startServer({ DATABASE_URL: db.url });
  nodeT = await startServer({ DATABASE_URL: db.url, TOKEN_TTL: '2s' });
  alice = await registerUser(nodeA.url, 'alice');
  bob = await registerUser(nodeA.url, 'bob');
  vera = await registerUser(nodeA.url, 'vera');
  org = await createOrg(nodeA.url, alice);
  await addMember(nodeA.url, org, bob, 'member');
  await addMember(nodeA.url, org, vera, 'viewer');
  ({ project, columns } = await createProject(nodeA.url, org));
}, 60_000);

afterEach(() => {
  closeAllClients();
  closeAllSockets();
});

afterAll(async () => {
  await Promise.all([nodeA?.close(), nodeB?.close(), nodeT?.close()]);
  await db?.drop();
});

const todo = () => columns[0]!.id;
const titles = (board: BoardState) => [...board.tasks.values()].map((t) => t.title);

async function live(url: string | string[], user: TestUser, options = {}) {
  const opened = openClient(url, { token: user.token }, options);
  await opened.client.connect();
  const board = await opened.client.joinBoard(project.id);
  return { ...opened, board };
}

async function boardSeq(): Promise<number> {
  return (await db.query<{ seq: number }>('select seq from projects where id = $1', [project.id]))[0]!.seq;
}

/** Waits until at least `n` sessions of the test database wait for a lock. */
async function waitersOnLocks(n: number): Promise<void> {
  await eventually(async () => {
    expect(await lockWaiters(db)).toBeGreaterThanOrEqual(n);
  }, 10_000);
}

async function rowsTitled(title: string): Promise<number> {
  return (await db.query<{ n: number }>('select count(*)::int as n from tasks where title = $1', [title]))[0]!.n;
}

describe('connection states', () => {
  it('goes connecting → resyncing → live, and when its node stops, reconnecting → resyncing → live on the next one', async () => {
    const nodeC = await startServer({ DATABASE_URL: db.url });
    let closed = false;
    try {
      const { client, states, board } = await live([nodeC.url, nodeA.url], alice);
      expect(states).toEqual(['connecting', 'resyncing', 'live']);
      const heard: BoardEventJson[] = [];
      client.on('board', (_board, event) => event && heard.push(event));
      await client.createTask({ projectId: project.id, columnId: todo(), title: 'made on node C' });

      await nodeC.close();
      closed = true;
      const { body } = await api(
        nodeA.url,
        'POST',
        `/orgs/${org.slug}/projects/${project.id}/tasks`,
        {
          columnId: todo(),
          title: 'made while node C went away',
        },
        bob.token,
      );
      await eventually(() => expect(states).toEqual(['connecting', 'resyncing', 'live', 'reconnecting', 'resyncing', 'live']), 10_000);
      await client.createTask({ projectId: project.id, columnId: todo(), title: 'made on node A' });

      expect(client.boards.get(project.id)).toBe(board);
      await eventually(() => expect(board.tasks.get(body.task.id)?.title).toBe('made while node C went away'));
      // A bot that acts on events hears the change it missed, from the replay, once, between its own two.
      expect(heard.map((event) => [event.type, (event.data as { task: TaskJson }).task.title])).toEqual([
        ['task.created', 'made on node C'],
        ['task.created', 'made while node C went away'],
        ['task.created', 'made on node A'],
      ]);
      expect(titles(board)).toEqual(expect.arrayContaining(['made on node C', 'made on node A']));
      await expectConverged(db, nodeA.url, org, project.id, [{ name: 'alice', client }]);
      client.close();
      expect(states.at(-1)).toBe('closed');
    } finally {
      if (!closed) await nodeC.close();
    }
  });
});

describe('closing', () => {
  it('rejects a pending connect() with DISCONNECTED when closed before it got through, and every later mutation', async () => {
    const nobody = `http://127.0.0.1:${await freePort()}`;
    const { client, states } = openClient(nobody, { token: alice.token });
    const connecting = client.connect();
    client.close();
    await expect(connecting).rejects.toMatchObject({ name: 'TaskFlowError', code: 'DISCONNECTED' });
    await expect(client.createTask({ projectId: project.id, columnId: todo(), title: 'too late' })).rejects.toMatchObject({
      code: 'DISCONNECTED',
    });
    expect(states).toEqual(['connecting', 'closed']);
    expect(client.unacknowledged).toBe(0);
  });

  it('makes a join and a mutation asked before connect() once it is live, and rejects those still waiting when closed first', async () => {
    const early = openClient(nodeA.url, { token: alice.token });
    const joined = early.client.joinBoard(project.id);
    const created = early.client.createTask({ projectId: project.id, columnId: todo(), title: 'asked before connect' });
    await early.client.connect();
    expect((await created).task.title).toBe('asked before connect');
    expect(titles(await joined)).toContain('asked before connect');

    const never = openClient(nodeA.url, { token: alice.token });
    const waiting = [
      never.client.joinBoard(project.id),
      never.client.createTask({ projectId: project.id, columnId: todo(), title: 'never' }),
    ];
    never.client.close();
    for (const call of waiting) await expect(call).rejects.toMatchObject({ name: 'TaskFlowError', code: 'DISCONNECTED' });
  });

  it('rejects connect() with DISCONNECTED on a client closed before it was ever asked to connect', async () => {
    const { client } = openClient(nodeA.url, { token: alice.token });
    client.close();
    await expect(client.connect()).rejects.toMatchObject({ name: 'TaskFlowError', code: 'DISCONNECTED' });
  });

  it('drops a board it may no longer see when it comes back, and goes live instead of reconnecting for ever', async () => {
    const dan = await registerUser(nodeA.url, 'dan');
    await addMember(nodeA.url, org, dan, 'member');
    const nodeC = await startServer({ DATABASE_URL: db.url });
    let logins = 0;
    let removal: number | undefined;
    // The client takes a provider that fails for an empty token: what it does is judged after.
    const provider = async () => {
      // Dan is disconnected now: the owner removes him before he is back.
      if (logins++ === 1)
        removal = (await api(nodeA.url, 'DELETE', `/orgs/${org.slug}/members/${dan.user.id}`, undefined, alice.token)).status;
      return dan.token;
    };
    const { client, states } = openClient([nodeC.url, nodeA.url], { token: provider });
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));
    try {
      await client.connect();
      await client.joinBoard(project.id);
    } finally {
      await nodeC.close();
    }

    await eventually(() => expect(states).toEqual(['connecting', 'resyncing', 'live', 'reconnecting', 'resyncing', 'live']), 10_000);
    expect(removal).toBe(204);
    expect(client.boards.has(project.id)).toBe(false);
    expect(errors).toEqual([expect.objectContaining({ name: 'TaskFlowError', code: expect.stringMatching(/^(NOT_FOUND|FORBIDDEN)$/) })]);
    await expect(client.createTask({ projectId: project.id, columnId: todo(), title: 'after the removal' })).rejects.toMatchObject({
      code: expect.stringMatching(/^(NOT_FOUND|FORBIDDEN)$/),
    });
  });
});

describe('refusals', () => {
  it('rejects a refused mutation with a TaskFlowError that carries the code, and forgets it', async () => {
    const { client: aliceClient } = await live(nodeA.url, alice);
    const { client: veraClient } = await live(nodeA.url, vera);
    const { client: bobClient } = await live(nodeB.url, bob);

    const invalid = aliceClient.createTask({ projectId: project.id, columnId: todo(), title: '   ' });
    await expect(invalid).rejects.toBeInstanceOf(TaskFlowError);
    await expect(invalid).rejects.toMatchObject({ name: 'TaskFlowError', code: 'VALIDATION_FAILED' });
    await expect(veraClient.createTask({ projectId: project.id, columnId: todo(), title: 'a viewer’s task' })).rejects.toMatchObject({
      code: 'FORBIDDEN',
    });
    await expect(aliceClient.deleteTask({ taskId: randomUUID() })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    // A change to a field someone else changed since baseVersion: CONFLICT, with the task as it is.
    const { task } = await aliceClient.createTask({ projectId: project.id, columnId: todo(), title: 'contested' });
    await bobClient.updateTask({ taskId: task.id, patch: { title: 'bob’s title' } });
    const conflict = await aliceClient.updateTask({ taskId: task.id, patch: { title: 'alice’s title' }, baseVersion: 1 }).catch((e) => e);
    expect(conflict).toBeInstanceOf(TaskFlowError);
    expect(conflict).toMatchObject({ code: 'CONFLICT', details: { task: { id: task.id, title: 'bob’s title', version: 2 } } });
    expect((conflict as TaskFlowError).conflict).toEqual({ task: expect.objectContaining({ title: 'bob’s title' }), fields: ['title'] });
    expect((conflict as TaskFlowError).retryAfterMs).toBeUndefined();

    for (const client of [aliceClient, veraClient, bobClient]) expect(client.unacknowledged).toBe(0);
    expect(await rowsTitled('a viewer’s task')).toBe(0);
    expect(await rowsTitled('alice’s title')).toBe(0);
  });

  it('rejects connect() with UNAUTHORIZED for a refused fixed token, and ends closed', async () => {
    const { client, states } = openClient(nodeA.url, { token: 'not-a-token' });
    await expect(client.connect()).rejects.toMatchObject({
      name: 'TaskFlowError',
      code: 'UNAUTHORIZED',
      message: 'the credentials were refused: invalid token',
    });
    expect(states).toEqual(['connecting', 'closed']);
  });

  it("refuses at once, NOT_FOUND, an address with a path (the HTTP API's), which no attempt could reach, naming neither its password nor its query", () => {
    const refusal = (url: string | string[]) => {
      try {
        new TaskFlowClient({ url, credentials: { token: alice.token } });
        return null;
      } catch (error) {
        return error;
      }
    };
    // Among good nodes too: it would otherwise end a client live on them once a reconnect picked it.
    expect(refusal([nodeA.url, 'http://bot:s3cret@127.0.0.1:1/api/v1?token=abc'])).toMatchObject({
      name: 'TaskFlowError',
      code: 'NOT_FOUND',
      message: `no TaskFlow socket server at http://127.0.0.1:1/api/v1: give the server's address without a path (http://127.0.0.1:1); socket.io reads a path as a namespace`,
    });
    expect(refusal(`${nodeA.url}/`)).toBeNull();
  });
});

describe('a token provider', () => {
  it('is asked again after token_expired; the client resyncs its board intact and sees a change made meanwhile', async () => {
    // The client takes a provider that fails for an empty token: a failed login is kept, and judged after.
    const failedLogins: string[] = [];
    const login = async (user: TestUser) => {
      const answer = await api(nodeT.url, 'POST', '/auth/login', { email: user.email, password: PASSWORD });
      if (answer.status !== 200) failedLogins.push(`${user.email}: ${answer.status} ${JSON.stringify(answer.body)}`);
      return answer.body.token as string;
    };
    const tokens: string[] = [];
    let madeMeanwhile: TaskJson | undefined;
    const provider = async () => {
      if (tokens.length === 1) {
        // Alice is disconnected now: Bob changes the board before she is back.
        const { body } = await api(
          nodeT.url,
          'POST',
          `/orgs/${org.slug}/projects/${project.id}/tasks`,
          {
            columnId: todo(),
            title: 'made while alice was away',
          },
          await login(bob),
        );
        madeMeanwhile = body.task;
      }
      tokens.push(await login(alice));
      return tokens.at(-1)!;
    };
    const { client, states } = openClient(nodeT.url, { token: provider });
    await client.connect();
    const board = await client.joinBoard(project.id);
    const { task: before } = await client.createTask({ projectId: project.id, columnId: todo(), title: 'made before expiry' });

    // A mutation fired as the token runs out is kept and sent again once the client is back.
    let firedAtExpiry: Promise<unknown> | undefined;
    client.on('revoked', () => {
      firedAtExpiry ??= client.createTask({ projectId: project.id, columnId: todo(), title: 'fired as the token expired' });
    });
    const [revoked] = await clientEvent(client, 'revoked', () => true, 5000);
    expect(revoked).toEqual({ orgId: null, reason: 'token_expired' });
    await eventually(
      () => expect(states.slice(0, 6)).toEqual(['connecting', 'resyncing', 'live', 'reconnecting', 'resyncing', 'live']),
      5000,
    );

    expect(failedLogins).toEqual([]);
    expect(tokens.length).toBeGreaterThanOrEqual(2);
    expect(tokens[1]).not.toBe(tokens[0]);
    expect(client.boards.get(project.id)).toBe(board);
    expect(board.tasks.get(before.id)?.title).toBe('made before expiry');
    expect(board.tasks.get(madeMeanwhile!.id)).toEqual(madeMeanwhile);
    await expect(firedAtExpiry).resolves.toMatchObject({ task: { title: 'fired as the token expired' } });
    const { task: after } = await client.createTask({ projectId: project.id, columnId: todo(), title: 'made after expiry' });
    expect(board.tasks.get(after.id)?.title).toBe('made after expiry');
    expect(await rowsTitled('fired as the token expired')).toBe(1);
    await eventually(async () => expect(board.seq).toBe(await boardSeq()));
  });
});

describe('a change refused UNAUTHORIZED', () => {
  it('is sent again on a new connection, signed in afresh by the token provider, and lands once', async () => {
    // The node answers the first creation as it does one that comes as the session ends (a
    // password changed in this tab, whose provider holds the new token), and closes the socket.
    const node = await startServer({ DATABASE_URL: db.url });
    let refused = 0;
    node.server.io.use((socket, next) => {
      socket.use(([event, , answer], next) => {
        if (event !== 'task:create' || refused > 0) return next();
        refused += 1;
        (answer as (ack: unknown) => void)({
          ok: false,
          error: { code: 'UNAUTHORIZED', message: 'this session was ended: sign in again' },
        });
        socket.disconnect(true);
      });
      next();
    });
    try {
      let asked = 0;
      const { client, states } = openClient(node.url, { token: () => ((asked += 1), alice.token) }, { reconnectSpreadMs: 0 });
      await client.connect();
      const title = `sent again after UNAUTHORIZED ${randomUUID()}`;
      const { task } = await client.createTask({ projectId: project.id, columnId: todo(), title });
      expect(task.title).toBe(title);
      expect(refused).toBe(1);
      expect(asked).toBe(2);
      expect(states).toEqual(['connecting', 'resyncing', 'live', 'reconnecting', 'resyncing', 'live']);
      expect(await rowsTitled(title)).toBe(1);
    } finally {
      await node.close();
    }
  });
});

describe('a fixed token', () => {
  it('that expires ends the client closed with UNAUTHORIZED, and what was unacknowledged rejects', async () => {
    const { body } = await api(nodeT.url, 'POST', '/auth/login', { email: alice.email, password: PASSWORD });
    const { client, states } = openClient(nodeT.url, { token: body.token as string });
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));
    await client.connect();
    await client.joinBoard(project.id);
    let firedAtExpiry: Promise<unknown> | undefined;
    client.on('revoked', () => {
      firedAtExpiry ??= client.createTask({ projectId: project.id, columnId: todo(), title: 'fired as a fixed token expired' });
    });
    await clientEvent(client, 'state', (state) => state === 'closed', 8000);
    expect(states).toEqual(['connecting', 'resyncing', 'live', 'reconnecting', 'closed']);
    expect(errors).toEqual([expect.objectContaining({ code: 'UNAUTHORIZED' })]);
    await expect(firedAtExpiry).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(client.unacknowledged).toBe(0);
    // What is asked of it afterwards says why it closed: not DISCONNECTED, which reads "try again later".
    await expect(client.createTask({ projectId: project.id, columnId: todo(), title: 'after it closed' })).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    await expect(client.joinBoard(project.id)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    await expect(client.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' }); // it had resolved: it will not run again
  });
});

describe('gaps', () => {
  it('resyncs when an event arrives after one it never got, or its own ack skips one, and hands each event to the listener once, in order', async () => {
    const { client, board } = await live(nodeA.url, alice, { gapGraceMs: 100 });
    const heard: Array<number | 'read afresh'> = [];
    client.on('board', (_board, event) => heard.push(event?.seq ?? 'read afresh'));
    const bobA = await connect(nodeA.url, { token: bob.token });
    const bobB = await connect(nodeB.url, { token: bob.token });
    const create = (socket: typeof bobA, title: string) => ok(socket, 'task:create', { projectId: project.id, columnId: todo(), title });

    // Node B has no way to tell node A's sockets: Alice misses x, then sees y.
    const x = await create(bobB, 'x, missed');
    const y = await create(bobA, 'y, seen');
    expect(y.event.seq).toBe(x.event.seq + 1);
    await eventually(() => {
      expect(board.seq).toBe(y.event.seq);
      expect(board.gap).toBe(false);
      expect(board.tasks.get(x.task.id)).toEqual(x.task);
      expect(board.tasks.get(y.task.id)).toEqual(y.task);
    });
    expect(heard).toEqual([x.event.seq, y.event.seq]); // x from the replay; y, which waited for it, after it

    // Alice misses z, then her own ack names the seq after it.
    const z = await create(bobB, 'z, missed');
    const { task: w, event } = await client.createTask({ projectId: project.id, columnId: todo(), title: 'w, her own' });
    expect(event!.seq).toBe(z.event.seq + 1);
    await eventually(() => {
      expect(board.seq).toBe(event!.seq);
      expect(board.tasks.get(z.task.id)).toEqual(z.task);
      expect(board.tasks.get(w.id)).toEqual(w);
    });
    expect(heard).toEqual([x.event.seq, y.event.seq, z.event.seq, event!.seq]);
    await expectConverged(db, nodeA.url, org, project.id, [{ name: 'alice', client }]);
  });

  it('stays on a board joined twice until it is left twice: a late leave of the first join does not undo the second', async () => {
    // What a screen does that is closed and opened again before its first join is answered.
    const { client } = openClient(nodeA.url, { token: alice.token });
    await client.connect();
    const [, board] = await Promise.all([client.joinBoard(project.id), client.joinBoard(project.id)]);
    await client.leaveBoard(project.id); // the first screen's, late: after the second join was answered
    const { task } = (
      await api(
        nodeA.url,
        'POST',
        `/orgs/${org.slug}/projects/${project.id}/tasks`,
        { columnId: todo(), title: 'seen by the second screen' },
        bob.token,
      )
    ).body;
    await eventually(() => expect(client.boards.get(project.id)?.tasks.has(task.id)).toBe(true));
    expect(client.boards.get(project.id)).toBe(board);
    await client.leaveBoard(project.id);
    expect(client.boards.has(project.id)).toBe(false);
  });

  it("stays on a board joined again after it was dropped: a screen's leave from before the drop does not undo the later join", async () => {
    const erin = await registerUser(nodeA.url, 'erin');
    await addMember(nodeA.url, org, erin, 'member');
    const { client } = openClient(nodeA.url, { token: erin.token });
    await client.connect();
    await client.joinBoard(project.id); // the first screen
    expect((await api(nodeA.url, 'DELETE', `/orgs/${org.slug}/members/${erin.user.id}`, undefined, alice.token)).status).toBe(204);
    await eventually(() => expect(client.boards.has(project.id)).toBe(false));
    await addMember(nodeA.url, org, erin, 'member');
    const board = await client.joinBoard(project.id); // a second screen, once access came back
    await client.leaveBoard(project.id); // the first screen closes
    const { task } = (
      await api(
        nodeA.url,
        'POST',
        `/orgs/${org.slug}/projects/${project.id}/tasks`,
        { columnId: todo(), title: 'seen after a drop' },
        bob.token,
      )
    ).body;
    await eventually(() => expect(board.tasks.get(task.id)).toEqual(task));
    expect(client.boards.get(project.id)).toBe(board);
    await client.leaveBoard(project.id); // the second screen closes
    expect(client.boards.has(project.id)).toBe(false);
  });

  it("tries a gap's failing resync again after pauses that double, not every gapGraceMs, and closes the gap once it is answered", async () => {
    const node = await startServer({ DATABASE_URL: db.url });
    // The node refuses a rejoin from a seq while `refusing`, as it does with its database away.
    let refusing = true;
    const refusals: number[] = [];
    // Its own handlers answer every event: this one goes first, put in place before they are.
    node.server.io.use((socket, next) => {
      socket.use(([event, payload, answer], next) => {
        if (!(refusing && event === 'board:join' && (payload as { sinceSeq?: number }).sinceSeq !== undefined)) return next();
        refusals.push(performance.now());
        (answer as (ack: unknown) => void)({ ok: false, error: { code: 'UNAVAILABLE', message: 'the database is away' } });
      });
      next();
    });
    try {
      const { client, board } = await live(node.url, alice, { gapGraceMs: 100, maxBackoffMs: 1000 });
      const errors: unknown[] = [];
      client.on('error', (error) => errors.push(error));
      // Node A has no way to tell the node's sockets: Alice misses x, and her own ack names the seq after it.
      const x = (
        await api(nodeA.url, 'POST', `/orgs/${org.slug}/projects/${project.id}/tasks`, { columnId: todo(), title: 'x, missed' }, bob.token)
      ).body;
      await client.createTask({ projectId: project.id, columnId: todo(), title: 'y, her own' });
      expect(board.gap).toBe(true);
      await eventually(() => expect(refusals.length).toBeGreaterThanOrEqual(4), 10_000);
      refusing = false;
      const pauses = refusals.slice(1, 4).map((at, i) => at - refusals[i]!);
      // 100 ms, then twice that after each failure: 200, 400, 800 (at most `maxBackoffMs`).
      expect(pauses[0]).toBeGreaterThanOrEqual(190);
      expect(pauses[1]).toBeGreaterThanOrEqual(390);
      expect(pauses[2]).toBeGreaterThanOrEqual(790);
      await eventually(() => {
        expect(board.gap).toBe(false);
        expect(board.tasks.get(x.task.id)).toEqual(x.task);
      }, 10_000);
      expect(errors.length).toBe(refusals.length);
      expect(errors).toContainEqual(expect.objectContaining({ code: 'UNAVAILABLE' }));
      expect(client.state).toBe('live');
    } finally {
      await node.close();
    }
  });

  it('keeps no board left before its join was answered, on the client or on the server', async () => {
    // A screen opened and closed at once: the join is answered with the board as it was read.
    const { client } = openClient(nodeA.url, { token: vera.token });
    await client.connect();
    const joined = client.joinBoard(project.id);
    await client.leaveBoard(project.id);
    expect((await joined).project.id).toBe(project.id);
    expect(client.boards.has(project.id)).toBe(false);
    const [socket] = [...nodeA.server.io.of('/').sockets.values()].filter(
      (s) => s.data.principal.kind === 'user' && s.data.principal.userId === vera.user.id,
    );
    await eventually(() => expect([...socket!.rooms].filter((room) => room.includes(':project:'))).toEqual([]));
  });

  it('holds a board joined again after a leave that came while its first join was under way, kept up to date', async () => {
    const { client } = openClient(nodeA.url, { token: vera.token });
    await client.connect();
    const first = client.joinBoard(project.id);
    const left = client.leaveBoard(project.id);
    const again = client.joinBoard(project.id);
    await Promise.all([first, left]);
    const board = await again;
    expect(board).not.toBe(await first);
    expect(client.boards.get(project.id)).toBe(board);
    const { task } = (
      await api(
        nodeA.url,
        'POST',
        `/orgs/${org.slug}/projects/${project.id}/tasks`,
        { columnId: todo(), title: 'after the rejoin' },
        bob.token,
      )
    ).body;
    await eventually(() => expect(board.tasks.get(task.id)?.title).toBe('after the rejoin'));
  });

  it('answers a join of a board it holds, or is joining, with that board, which every screen then sees kept up to date', async () => {
    const { client } = openClient(nodeA.url, { token: alice.token });
    await client.connect();
    const [first, together] = await Promise.all([client.joinBoard(project.id), client.joinBoard(project.id)]);
    const later = await client.joinBoard(project.id);
    const { task } = (
      await api(
        nodeA.url,
        'POST',
        `/orgs/${org.slug}/projects/${project.id}/tasks`,
        { columnId: todo(), title: 'on every screen' },
        bob.token,
      )
    ).body;
    await eventually(() => {
      for (const board of [first, together, later]) expect(board.tasks.get(task.id)).toEqual(task);
    });
    expect(client.boards.get(project.id)).toBe(first);
  });

  it('keeps an event that arrives between joining the room and the join answer', async () => {
    const bobA = await connect(nodeA.url, { token: bob.token });
    const { client } = openClient(nodeA.url, { token: alice.token });
    await client.connect();
    const column = columns[1]!;

    // The join reads the board's seq and columns, then waits for the tasks table while Bob's
    // rename (which reads no task) commits and is broadcast to the room Alice already joined.
    const release = await holdLock(db, 'lock table tasks in access exclusive mode');
    const joining = client.joinBoard(project.id);
    joining.catch(() => {}); // awaited below, once the lock is gone
    let renamed: { event: BoardEventJson };
    try {
      await waitersOnLocks(1);
      renamed = await ok(bobA, 'column:update', { columnId: column.id, patch: { name: `renamed ${randomUUID().slice(0, 8)}` } });
    } finally {
      await release();
    }
    const board = await joining;
    expect(renamed.event.seq).toBe(await boardSeq());
    expect(board.seq).toBe(renamed.event.seq);
    expect(board.columns.get(column.id)).toEqual((renamed.event.data as { column: ColumnJson }).column);
    await expectConverged(db, nodeA.url, org, project.id, [{ name: 'alice', client }]);
  });

  it('BoardState applies events in seq order and keeps newer ones across a snapshot', async () => {
    const bobA = await connect(nodeA.url, { token: bob.token });
    const join = async (): Promise<BoardSnapshot> => ok(bobA, 'board:join', { projectId: project.id });
    const create = async (title: string): Promise<BoardEventJson> =>
      (await ok(bobA, 'task:create', { projectId: project.id, columnId: todo(), title })).event;
    const start = await join();
    const [e1, e2] = [await create('first'), await create('second')];
    const middle = await join();
    const e3 = await create('third');
    const end = canonical(await join());

    const inOrder = new BoardState(start);
    expect(inOrder.receive(e2)).toEqual([]);
    expect(inOrder.gap).toBe(true);
    expect(inOrder.seq).toBe(start.seq);
    expect(inOrder.receive(e1)).toEqual([e1, e2]); // and the one that waited for it
    expect(inOrder.receive(e1)).toEqual([]); // a duplicate is dropped
    expect(inOrder.receive(e3)).toEqual([e3]);
    expect({ gap: inOrder.gap, board: canonical(inOrder.toSnapshot()) }).toEqual({ gap: false, board: end });

    // A snapshot answer (the log no longer reaches back) with a newer event already waiting.
    const resynced = new BoardState(start);
    resynced.receive(e3);
    expect(resynced.gap).toBe(true);
    expect(resynced.sync(middle)).toBe('snapshot');
    expect({ gap: resynced.gap, board: canonical(resynced.toSnapshot()) }).toEqual({ gap: false, board: end });

    // A replay answer fills the gap the same way.
    const replayed = new BoardState(start);
    replayed.receive(e3);
    expect(replayed.sync(await ok(bobA, 'board:join', { projectId: project.id, sinceSeq: start.seq }))).toEqual([e1, e2, e3]);
    expect(canonical(replayed.toSnapshot())).toEqual(end);
  });
});

describe('listeners', () => {
  it('that throw, or reject, go to the `error` listeners, and the client and the other listeners go on', async () => {
    const { client } = await live(nodeA.url, alice);
    const errors: Error[] = [];
    client.on('error', (error) => errors.push(error));
    client.on('board', () => {
      throw new Error('a bot bug');
    });
    client.on('board', async () => {
      throw new Error('an async bot bug');
    });
    const titlesHeard: string[] = [];
    client.on('board', (_board, event) => event?.type === 'task.created' && titlesHeard.push(event.data.task.title));
    await client.createTask({ projectId: project.id, columnId: todo(), title: 'heard despite the bugs' });
    await eventually(() => expect(errors.map((error) => error.message).sort()).toEqual(['a bot bug', 'an async bot bug']));
    await client.createTask({ projectId: project.id, columnId: todo(), title: 'and the next one' });
    expect(titlesHeard).toEqual(['heard despite the bugs', 'and the next one']);
    expect(client.state).toBe('live');
  });
});

describe('a socket over its rate', () => {
  it('joins and leaves every board asked at once, each refused one again after its delay, and is left in no room', async () => {
    const metricsPort = await freePort();
    const nodeR = await startServer({ DATABASE_URL: db.url, SOCKET_RATE_LIMIT: '2', METRICS_PORT: String(metricsPort) }); // bursts of 4
    const refused = async (event: string) => {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      const line = text.split('\n').find((row) => row.startsWith(`taskflow_socket_events_total{event="${event}",outcome="RATE_LIMITED"} `));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    try {
      const boards = await Promise.all(Array.from({ length: 8 }, (_, i) => createProject(nodeR.url, org, `Rated ${i}`)));
      const ids = boards.map((made) => made.project.id);
      const watcher = openClient(nodeR.url, { token: bob.token }).client;
      await watcher.connect();
      const viewers = new Map<string, string[]>();
      watcher.on('presence', (projectId, list) => viewers.set(projectId, list.map((viewer) => viewer.name).sort()));
      await Promise.all(ids.map((id) => watcher.joinBoard(id)));

      const { client } = openClient(nodeR.url, { token: alice.token });
      await client.connect();
      await Promise.all(ids.map((id) => client.joinBoard(id)));
      expect([...client.boards.keys()].sort()).toEqual([...ids].sort());
      await eventually(() => expect(ids.map((id) => viewers.get(id))).toEqual(ids.map(() => ['alice', 'bob'])), 15_000);
      const refusedJoins = await refused('board:join');

      await Promise.all(ids.map((id) => client.leaveBoard(id)));
      expect(client.boards.size).toBe(0);
      await eventually(() => expect(ids.map((id) => viewers.get(id))).toEqual(ids.map(() => ['bob'])), 15_000);
      // Some were refused on the way, and asked again: it is the retries that got them all through.
      expect(refusedJoins).toBeGreaterThan(0);
      expect(await refused('board:leave')).toBeGreaterThan(0);

      // Joined and left at once, each join maybe waiting out a refusal as its leave comes: none stays.
      const dan = openClient(nodeR.url, { token: vera.token }).client;
      await dan.connect();
      const joins = ids.map((id) => dan.joinBoard(id).catch((error: unknown) => error));
      await Promise.all(ids.map((id) => dan.leaveBoard(id)));
      await Promise.all(joins);
      await dan.joinBoard(ids[0]!); // after every leave: its room is the one it is in
      await eventually(
        () => expect(ids.map((id) => viewers.get(id))).toEqual(ids.map((id) => (id === ids[0] ? ['bob', 'vera'] : ['bob']))),
        15_000,
      );
    } finally {
      await nodeR.close();
    }
  }, 60_000);
});

describe('retries', () => {
  it('answers one clientMutationId sent to node A and then node B with the same result, applied once', async () => {
    const bobA = await connect(nodeA.url, { token: bob.token });
    const bobB = await connect(nodeB.url, { token: bob.token });
    const title = `once ${randomUUID()}`;
    const create = { projectId: project.id, columnId: todo(), title, clientMutationId: randomUUID() };
    const first = await ok(bobA, 'task:create', create);
    const again = await ok(bobB, 'task:create', create);
    expect(again).toEqual(first);

    const move = { taskId: first.task.id, columnId: columns[2]!.id, clientMutationId: randomUUID() };
    const moved = await ok(bobA, 'task:move', move);
    expect(await ok(bobB, 'task:move', move)).toEqual(moved);
    expect(moved.task).toMatchObject({ columnId: columns[2]!.id, version: 2 });

    // The same id for another kind of change is not a retry, nor is someone else's change under it.
    const reused = await request(bobB, 'task:delete', { taskId: first.task.id, clientMutationId: create.clientMutationId });
    expect(reused).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });
    const aliceA = await connect(nodeA.url, { token: alice.token });
    const someoneElses = await request(aliceA, 'task:create', { ...create, title: `alice's ${title}` });
    expect(someoneElses).toMatchObject({ ok: false, error: { code: 'CONFLICT' } });

    expect(await db.query('select column_id, version from tasks where title = $1', [title])).toEqual([
      { column_id: columns[2]!.id, version: 2 },
    ]);
    expect(
      await db.query('select seq, type from board_events where client_mutation_id = any($1) order by seq', [
        [create.clientMutationId, move.clientMutationId],
      ]),
    ).toEqual([
      { seq: first.event.seq, type: 'task.created' },
      { seq: moved.event.seq, type: 'task.moved' },
    ]);
  });

  it('drops a connection that leaves a mutation unanswered, sends it again on the next, and it lands once', async () => {
    const { client, board } = await live(nodeA.url, alice, { ackTimeoutMs: 250 });
    const title = `late ${randomUUID()}`;
    // Every writer of the board waits for its row: the first send gets no answer in time.
    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    let created: ReturnType<TaskFlowClient['createTask']>;
    try {
      created = client.createTask({ projectId: project.id, columnId: todo(), title });
      await waitersOnLocks(1);
      await stateOf(client, 'reconnecting');
      await stateOf(client, 'live'); // and the mutation is sent again, on the new connection
    } finally {
      await release();
    }
    const { task, event } = await created;
    expect(client.unacknowledged).toBe(0);
    expect(await rowsTitled(title)).toBe(1);
    expect(await db.query('select seq from board_events where client_mutation_id = $1', [event!.clientMutationId])).toEqual([
      { seq: event!.seq },
    ]);
    expect([...board.tasks.values()].filter((t) => t.title === title)).toEqual([task]);
  });
});

describe('a connection dropped as it is let in', () => {
  it('is a lost connection: the client goes on to the next node instead of resyncing for good', async () => {
    // The node's answer to the handshake and its disconnect reach the client in one read.
    const trap = await startServer({ DATABASE_URL: db.url });
    try {
      trap.server.io.on('connection', (socket) => socket.disconnect(true));
      const { client, states } = openClient([trap.url, nodeB.url], { token: alice.token }, { maxBackoffMs: 100, reconnectSpreadMs: 0 });
      await client.connect();
      expect(states).toEqual(['connecting', 'resyncing', 'reconnecting', 'resyncing', 'live']);
    } finally {
      await trap.close();
    }
  });
});

describe('a node that drops its clients soon after it lets them in', () => {
  it('is asked again after pauses that double, not at once', async () => {
    const trap = await startServer({ DATABASE_URL: db.url });
    const arrivals: number[] = [];
    const drops: number[] = [];
    try {
      trap.server.io.on('connection', (socket) => {
        arrivals.push(performance.now());
        setTimeout(() => {
          drops.push(performance.now());
          socket.disconnect(true);
        }, 50);
      });
      const { client } = openClient(trap.url, { token: alice.token }, { reconnectSpreadMs: 0, maxBackoffMs: 5000 });
      await client.connect();
      await eventually(() => expect(arrivals.length).toBeGreaterThanOrEqual(4), 15_000);
      const pauses = arrivals.slice(1, 4).map((at, i) => at - drops[i]!);
      // Each drop a failed attempt: waits of at least 100, 200, 400 ms (half of a ceiling that doubles).
      expect(pauses[0]).toBeGreaterThanOrEqual(90);
      expect(pauses[1]).toBeGreaterThanOrEqual(190);
      expect(pauses[2]).toBeGreaterThanOrEqual(390);
    } finally {
      await trap.close();
    }
  });
});

describe('a first join whose answer comes with a revocation of its org', () => {
  it('rejects FORBIDDEN, and the board is not kept as if it were up to date', async () => {
    // The node sends `access:revoked` right after the join's answer: the two reach the client in one read.
    const node = await startServer({ DATABASE_URL: db.url });
    node.server.io.use((socket, next) => {
      socket.use((packet, next) => {
        const answer = packet.at(-1) as (ack: unknown) => void;
        if (packet[0] === 'board:join')
          packet[packet.length - 1] = (ack: unknown) => {
            answer(ack);
            socket.emit('access:revoked', { orgId: org.id, reason: 'removed' });
          };
        next();
      });
      next();
    });
    try {
      const { client } = openClient(node.url, { token: alice.token });
      await client.connect();
      await expect(client.joinBoard(project.id)).rejects.toMatchObject({ name: 'TaskFlowError', code: 'FORBIDDEN' });
      expect(client.boards.has(project.id)).toBe(false);
    } finally {
      await node.close();
    }
  });
});

describe('a token provider that throws', () => {
  it('counts as one whose token was refused: the client says so and goes on with the next token', async () => {
    let asked = 0;
    const provider = () => {
      if ((asked += 1) === 1) throw new Error('could not refresh');
      return alice.token;
    };
    const { client, states } = openClient(nodeA.url, { token: provider }, { maxBackoffMs: 100 });
    const errors: unknown[] = [];
    client.on('error', (error) => errors.push(error));
    await client.connect();
    expect(asked).toBe(2);
    expect(errors).toEqual([expect.objectContaining({ code: 'UNAUTHORIZED' })]);
    expect(states.at(-1)).toBe('live');
  });
});

describe('a connection lost in its handshake', () => {
  it('is a failed attempt: the client moves on to the next node instead of waiting for good', async () => {
    // A node whose every handshake loses its connection before the server answers it (a node
    // killed, or a network cut, at that moment): socket.io tells the client only `disconnect`.
    const trap = await startServer({ DATABASE_URL: db.url });
    try {
      trap.server.io.use((socket) => socket.conn.close());
      const { client, states } = openClient([trap.url, nodeB.url], { token: alice.token }, { maxBackoffMs: 100 });
      await client.connect();
      const { task } = await client.createTask({ projectId: project.id, columnId: columns[0]!.id, title: 'After a lost handshake' });
      expect(task.title).toBe('After a lost handshake');
      expect(states.at(-1)).toBe('live');
    } finally {
      await trap.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectJson } from '../shared/wire.js';
import { addMember, createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, holdLock, type TestDatabase } from './support/database.js';
import { createKey } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, nextEvent, ok, recordBoardEvents, request } from './support/sockets.js';

// No ack is left unanswered, even when the database does not answer (a connection gone silent, a
// lock held far too long): past ANSWER_DEADLINE the event is answered UNAVAILABLE. The change may
// still commit afterwards; then it is broadcast, and a retry with its clientMutationId gets it.
let db: TestDatabase;
let node: RunningServer;
let setup: RunningServer;
let org: TestOrg;
let project: ProjectJson;
let writer: ClientSocket;
let watcher: ClientSocket;
let taskId: string;
const logged: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer(
    { DATABASE_URL: db.url, ANSWER_DEADLINE: '2', LOG_LEVEL: 'warn' },
    { logStream: { write: (line) => logged.push(line) } },
  );
  // Accounts, orgs and boards are made on a node with the default deadline: a password's hash on a
  // busy machine can take longer than this node's two seconds.
  setup = await startServer({ DATABASE_URL: db.url });
  org = await createOrg(setup.url, await registerUser(setup.url, 'alice'));
  let columns;
  ({ project, columns } = await createProject(setup.url, org));
  [writer, watcher] = [await connect(node.url, { token: org.owner.token }), await connect(node.url, { token: org.owner.token })];
  for (const socket of [writer, watcher]) await ok(socket!, 'board:join', { projectId: project.id });
  taskId = (await ok(writer, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Before' })).task.id;
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await setup?.close();
  await db?.drop();
});

describe('an event the database does not answer in time', () => {
  it('is answered UNAVAILABLE at the deadline; the change, once it commits, is broadcast and found by its retry', async () => {
    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    try {
      const change = { taskId, patch: { title: 'Waited' }, clientMutationId: 'slow-one' };
      const started = Date.now();
      const answer = await request(writer, 'task:update', change);
      expect(answer).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
      // The operator hears of it, as of any answer the database failed (one line at most every 10 s).
      const warned = logged.map((line) => JSON.parse(line)).filter((line) => line.msg.startsWith('no answer in time'));
      expect(warned).toMatchObject([{ level: 40, event: 'task:update', failedSinceLastReport: 1 }]);

      // The writer too: its answer told it nothing of the change, so it hears it as the others do.
      const [broadcast, toWriter] = [watcher, writer].map((socket) => nextEvent(socket, 'board:event'));
      await release();
      const event = await broadcast;
      expect(event).toMatchObject({ type: 'task.updated', clientMutationId: 'slow-one', data: { task: { title: 'Waited' } } });
      expect(await toWriter).toEqual(event);
      expect((await ok(writer, 'task:update', change)).event).toEqual(event);
    } finally {
      await release();
    }
  });

  it('sends a change made by the ORM (a create) that commits after its deadline to its sender as well, and only then', async () => {
    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    const heardByWriter: unknown[] = [];
    const listener = (event: unknown) => heardByWriter.push(event);
    writer.on('board:event', listener);
    try {
      const { columns } = await ok(watcher, 'board:join', { projectId: project.id });
      const answer = await request(writer, 'task:create', {
        projectId: project.id,
        columnId: columns[0].id,
        title: 'Late',
        clientMutationId: 'late-create',
      });
      expect(answer).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      const broadcast = nextEvent(watcher, 'board:event');
      await release();
      const event = await broadcast;
      expect(event).toMatchObject({ type: 'task.created', clientMutationId: 'late-create' });
      await eventually(() => expect(heardByWriter).toEqual([event]));
      // A change answered in time is not sent to its sender, which has it in its answer.
      const next = nextEvent(watcher, 'board:event');
      const inTime = await ok(writer, 'task:update', { taskId: event.data.task.id, patch: { title: 'On time' } });
      expect(await next).toEqual(inTime.event);
      await ok(writer, 'board:join', { projectId: project.id }); // a round trip after it: the broadcast had its chance
      expect(heardByWriter).toEqual([event]);
    } finally {
      writer.off('board:event', listener);
    }
  });

  it('is answered 503 UNAVAILABLE at the deadline over HTTP too, and the change still commits', async () => {
    const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
    try {
      const started = Date.now();
      const answer = await fetch(`${node.url}/api/v1/orgs/${org.slug}/tasks/${taskId}`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${org.owner.token}` },
        body: JSON.stringify({ title: 'Waited over HTTP', clientMutationId: 'slow-http' }),
      });
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('5');
      expect(await answer.json()).toMatchObject({ error: { code: 'UNAVAILABLE' } });
      expect(Date.now() - started).toBeGreaterThanOrEqual(1900);

      const broadcast = nextEvent(watcher, 'board:event', (event) => event.clientMutationId === 'slow-http');
      await release();
      expect(await broadcast).toMatchObject({ type: 'task.updated', data: { task: { title: 'Waited over HTTP' } } });
      // Its handler's own answer went nowhere, quietly: no warning with a stack for each such request.
      expect(logged.filter((line) => line.includes('FST_ERR_REP_ALREADY_SENT'))).toEqual([]);
    } finally {
      await release();
    }
  });

  it('is answered 503 at the deadline when the request is stuck in its authentication', async () => {
    const release = await holdLock(db, 'lock table users in access exclusive mode'); // every identity read waits
    try {
      const answer = await fetch(`${node.url}/api/v1/me`, { headers: { authorization: `Bearer ${org.owner.token}` } });
      expect(answer.status).toBe(503);
      expect(await answer.json()).toMatchObject({ error: { code: 'UNAVAILABLE' } });
    } finally {
      await release();
    }
    expect((await fetch(`${node.url}/api/v1/me`, { headers: { authorization: `Bearer ${org.owner.token}` } })).status).toBe(200);
  });

  it('fails a socket handshake stuck in its authentication with connect_error UNAVAILABLE at the deadline', async () => {
    const release = await holdLock(db, 'lock table users, memberships in access exclusive mode'); // every identity read waits
    try {
      await expect(connect(node.url, { token: org.owner.token })).rejects.toThrow('UNAVAILABLE');
    } finally {
      await release();
    }
    expect((await connect(node.url, { token: org.owner.token })).connected).toBe(true);
  });

  it("serves a join's retry once the join answered UNAVAILABLE has ended, and the retry stands in the board's room", async () => {
    const viewer = await connect(node.url, { token: org.owner.token });
    const release = await holdLock(db, 'lock table tasks in access exclusive mode'); // the snapshot's read waits
    let retried: Promise<unknown> | undefined;
    try {
      expect(await request(viewer, 'board:join', { projectId: project.id })).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      retried = request(viewer, 'board:join', { projectId: project.id }); // waits for the first: a socket's joins of a board run in order
      // The first join's session ends while it waits (a broken connection, a failover): that join
      // fails, taking the socket out of the room, and then the retry reads.
      const waiting = async () =>
        (await db.query(`select pid from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`, [db.name])).map(
          (row) => row.pid,
        );
      const [first] = await waiting();
      await db.query('select pg_terminate_backend($1)', [first]);
      await eventually(async () => {
        const pids = await waiting();
        expect(pids).toHaveLength(1); // the retry's read
        expect(pids[0]).not.toBe(first);
      });
    } finally {
      await release();
    }
    expect(await retried).toMatchObject({ ok: true, data: { project: { id: project.id } } });
    const heard = nextEvent(viewer, 'board:event', (event) => event.data.task?.title === 'After the joins');
    await ok(writer, 'task:update', { taskId, patch: { title: 'After the joins' } });
    expect(await heard).toMatchObject({ type: 'task.updated' });
  });

  it('leaves the socket in no board room when a join answered UNAVAILABLE reads the board after all', async () => {
    // Its client holds that the join failed, and sends no leave: were it left in the room, it would
    // be sent every event of the board, and stand in its presence list, until it disconnects.
    const bob = await registerUser(setup.url, 'bob');
    await addMember(setup.url, org, bob, 'member');
    const viewer = await connect(node.url, { token: bob.token });
    const heard = recordBoardEvents(viewer);
    const serverSide = node.server.io.of('/').sockets.get(viewer.id!)!;
    const release = await holdLock(db, 'lock table tasks in access exclusive mode'); // the snapshot's read waits
    try {
      expect(await request(viewer, 'board:join', { projectId: project.id })).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      expect(serverSide.data.joining).toBeDefined(); // still reading
    } finally {
      await release();
    }
    await eventually(() => expect(serverSide.data.joining).toBeUndefined()); // its read came back, and the join ended
    expect([...serverSide.rooms].filter((room) => room.includes(':project:'))).toEqual([]);

    await ok(writer, 'task:update', { taskId, patch: { title: 'Not for bob' } });
    await ok(viewer, 'board:join', { projectId: project.id });
    await ok(writer, 'task:update', { taskId, patch: { title: 'For bob' } });
    await eventually(() => expect(heard.map((event) => (event.data as { task: { title: string } }).task.title)).toEqual(['For bob']));
  });

  it('reads no board for joins answered UNAVAILABLE before their turn came, their sockets gone', async () => {
    // A crowd rejoining while the database is slow: those answered at the deadline rejoin, and
    // must not wait behind reads no one will receive.
    const boards = await Promise.all(Array.from({ length: 8 }, (_, i) => createProject(node.url, org, `Crowded ${i}`)));
    const bots = await Promise.all(
      boards.map(async () => connect(node.url, { apiKey: (await createKey(setup.url, org, ['boards:read'])).key })),
    );
    const arrivals = node.server.ctx.arrivals;
    const run = arrivals.run.bind(arrivals);
    let reads = 0;
    let began: number | undefined;
    arrivals.run = (work, wanted) => run(() => ((reads += 1), work()), wanted);
    const lockWaiters = async () =>
      (
        await db.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`, [
          db.name,
        ])
      )[0]!.n;
    try {
      const release = await holdLock(db, 'lock table tasks in access exclusive mode'); // the snapshots' reads wait
      try {
        const answers = bots.map((bot, i) => request(bot, 'board:join', { projectId: boards[i]!.project.id }));
        for (const answer of answers) expect(await answer).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
        began = await lockWaiters(); // those that had their turn: half the pool
        expect(began).toBeLessThan(bots.length);
        expect(reads).toBe(began);
        for (const bot of bots) bot.close();
        await eventually(() => expect(bots.filter((bot) => node.server.io.of('/').sockets.has(bot.id!))).toEqual([]));
      } finally {
        await release();
      }
      await ok(writer, 'board:join', { projectId: boards[0]!.project.id }); // after the crowd's turns, in the lane's order
      expect(reads).toBe(began! + 1);
    } finally {
      arrivals.run = run;
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { type RedisProcess, startRedis } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, nextEvent, ok, request } from './support/sockets.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

// A change commits on node 1 and PostgreSQL's answer is lost on the way back: node 1 answers
// UNAVAILABLE, and its client retries on node 2, which finds the change in the log and answers
// it. Every viewer must still get the change's event, wherever they are.
let db: TestDatabase;
let redis: RedisProcess;
let proxy: TcpProxy;
let node1: RunningServer;
let node2: RunningServer;
let alice: TestUser;
let bob: TestUser;
let org: TestOrg;
let project: ProjectJson;
let columnId: string;
let task: TaskJson;

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await startRedis();
  proxy = await startTcpProxy(Number(new URL(db.url).port || 5432));
  const throughProxy = new URL(db.url);
  throughProxy.port = String(proxy.port);
  node1 = await startServer({ DATABASE_URL: throughProxy.toString(), REDIS_URL: redis.url });
  node2 = await startServer({ DATABASE_URL: db.url, REDIS_URL: redis.url });
  [alice, bob] = await Promise.all([registerUser(node2.url, 'alice'), registerUser(node2.url, 'bob')]);
  org = await createOrg(node2.url, alice);
  await addMember(node2.url, org, bob, 'member');
  const made = await createProject(node2.url, org);
  project = made.project;
  columnId = made.columns[0]!.id;
  const socket = await connect(node2.url, { token: alice.token });
  ({ task } = await ok(socket, 'task:create', { projectId: project.id, columnId, title: 'Before' }));
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  await Promise.all([node1?.close(), node2?.close()]);
  await proxy?.close();
  await redis?.stop();
  await db?.drop();
});

/** Bob viewing the board on node 2, with every board event he hears; Alice's socket on node 1. */
async function viewerAndSender() {
  const viewer = await connect(node2.url, { token: bob.token });
  await ok(viewer, 'board:join', { projectId: project.id });
  const heard: BoardEventJson[] = [];
  viewer.on('board:event', (event) => heard.push(event));
  return { viewer, heard, sender: await connect(node1.url, { token: alice.token }) };
}

/**
 * Sends `change` on `sender`, a socket of a node that reaches PostgreSQL through the proxy: the
 * change waits on the board's row inside PostgreSQL, commits, and its answer never comes back, as
 * the node's connection breaks; the node answers UNAVAILABLE.
 */
async function commitWithAnswerLost(
  sender: ClientSocket,
  change: { taskId: string; patch: { title: string }; clientMutationId?: string },
): Promise<number> {
  const release = await holdLock(db, `select 1 from projects where id = '${project.id}' for update`);
  const firstTry = request(sender, 'task:update', change);
  await eventually(async () => expect(await lockWaiters(db)).toBe(1));
  proxy.swallow();
  await release();
  const seq = await committedSeq(change.patch.title);
  await proxy.cut();
  expect(await firstTry).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
  return seq;
}

/** The `seq` of the board's one event that gave a card `title`, once it has committed. */
async function committedSeq(title: string): Promise<number> {
  const logged = () =>
    db.query<{ seq: number }>(`select seq from board_events where project_id = $1 and payload->'task'->>'title' = $2`, [project.id, title]);
  await eventually(async () => expect(await logged()).toHaveLength(1));
  return (await logged())[0]!.seq;
}

describe('a change whose answer was lost, retried on another node', () => {
  it('reaches every viewer, once', async () => {
    const { viewer, heard, sender } = await viewerAndSender();
    const change = { taskId: task.id, patch: { title: 'Committed, answer lost' }, clientMutationId: 'lost-answer-1' };

    await commitWithAnswerLost(sender, change);

    const retrier = await connect(node2.url, { token: alice.token });
    const retried = await ok(retrier, 'task:update', change);
    expect(retried.task.title).toBe('Committed, answer lost');
    const seq = retried.event.seq;

    const delivered = nextEvent<BoardEventJson>(viewer, 'board:event', (event) => event.seq === seq, 20_000);
    await proxy.restore(); // node 1 reaches the database again
    expect(await delivered).toMatchObject({ seq, clientMutationId: change.clientMutationId });
    // Once node 1 is done looking in the log, an event of its own reaches the viewer after any copy it sent.
    await eventually(() => expect(node1.server.ctx.eventOrder.lookingFor).toBe(0), 20_000);
    const after = await ok(sender, 'task:update', { taskId: task.id, patch: { title: 'After the answer was lost' } });
    await nextEvent<BoardEventJson>(viewer, 'board:event', (event) => event.seq === after.event.seq);
    expect(heard.filter((event) => event.seq === seq)).toHaveLength(1);
  }, 40_000);

  it('is not sent again when the try that failed wrote nothing and a later try, answered, wrote it', async () => {
    const { viewer, heard, sender } = await viewerAndSender();
    const change = { taskId: task.id, patch: { title: 'Failed, then retried' }, clientMutationId: 'failed-then-retried' };

    await proxy.cut(); // node 1 cannot reach the database: its try writes nothing
    expect(await request(sender, 'task:update', change)).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    const retrier = await connect(node2.url, { token: alice.token });
    const { event } = await ok(retrier, 'task:update', change);

    await proxy.restore();
    // Node 1 looks in the log, finds the event another try wrote, and lets it be.
    await eventually(() => expect(node1.server.ctx.eventOrder.lookingFor).toBe(0), 20_000);
    const after = await ok(sender, 'task:update', { taskId: task.id, patch: { title: 'After the look' } });
    await nextEvent<BoardEventJson>(viewer, 'board:event', (e) => e.seq === after.event.seq); // node 1's events come in order
    expect(heard.filter((e) => e.seq === event.seq)).toHaveLength(1);
  }, 40_000);

  it('reaches every viewer, once, when the node that lost the answer is stopped before it looked', async () => {
    // A deploy stops the node before its look in the log has found the change, the database back:
    // its last look sends it out while it still has Redis. It comes, though it may land after the
    // close has returned (node 2 and the viewer's socket are further hops). Had the node closed
    // Redis first, it would never come, and the wait would fail; the retry goes out only after.
    await lostThenStopped({ taskId: task.id, patch: { title: 'Answer lost, node stopped' }, clientMutationId: 'lost-then-stopped' }, true);
  }, 40_000);

  it('reaches every viewer, once, when the node that lost the answer stopped unable to look: the other nodes catch up', async () => {
    // The database is still away from the node as it stops: its last look finds nothing, and it
    // asks the other nodes, through Redis, to send their sockets their boards' latest events.
    const change = { taskId: task.id, patch: { title: 'Answer lost, node stopped unable to look' }, clientMutationId: 'lost-unlooked' };
    await lostThenStopped(change, false);
  }, 60_000);

  /**
   * A node of its own, reaching PostgreSQL through the proxy, loses the answer to `change`'s
   * commit and is stopped, the database back for it first or not (`databaseBack`); the change
   * must reach Bob's viewer on node 2 once, and its retry there answer it from the log.
   */
  async function lostThenStopped(change: { taskId: string; patch: { title: string }; clientMutationId: string }, databaseBack: boolean) {
    const throughProxy = new URL(db.url);
    throughProxy.port = String(proxy.port);
    const stopping = await startServer({ DATABASE_URL: throughProxy.toString(), REDIS_URL: redis.url });
    let closing: Promise<void> | undefined;
    try {
      const { viewer, heard } = await viewerAndSender();
      const seq = await commitWithAnswerLost(await connect(stopping.url, { token: alice.token }), change);
      if (databaseBack) await proxy.restore();
      expect(stopping.server.ctx.eventOrder.lookingFor).toBe(1);
      const delivered = nextEvent<BoardEventJson>(viewer, 'board:event', (event) => event.seq === seq, 20_000);
      await (closing = stopping.close());
      expect(await delivered).toMatchObject({ clientMutationId: change.clientMutationId });

      const retrier = await connect(node2.url, { token: alice.token });
      expect((await ok(retrier, 'task:update', change)).event.seq).toBe(seq); // answered from the log, sent nothing again
      await ok(viewer, 'board:leave', { projectId: project.id }); // after anything else on its way
      expect(heard.filter((event) => event.seq === seq)).toHaveLength(1);
    } finally {
      await (closing ?? stopping.close());
      await proxy.restore();
    }
  }
});

// Without a `clientMutationId` no retry can ask for the change: the node that lost the answer
// must find it in the log itself, by the row it would have written.
describe('a change without a clientMutationId whose answer was lost', () => {
  /**
   * Lets node 1 reach the database again, and answers event `seq` as `viewer` hears it, once
   * node 1 is done looking in the log and an event of its own has reached `viewer` after it: heard once.
   */
  async function heardOnceAfterTheLook(viewer: ClientSocket, heard: BoardEventJson[], sender: ClientSocket, seq: number) {
    const delivered = nextEvent<BoardEventJson>(viewer, 'board:event', (event) => event.seq === seq, 20_000);
    await proxy.restore();
    const event = await delivered;
    await eventually(() => expect(node1.server.ctx.eventOrder.lookingFor).toBe(0), 20_000);
    const after = await ok(sender, 'task:update', { taskId: task.id, patch: { title: `After the look ${Math.random()}` } });
    await nextEvent<BoardEventJson>(viewer, 'board:event', (e) => e.seq === after.event.seq);
    expect(heard.filter((e) => e.seq === seq)).toHaveLength(1);
    return event;
  }

  it('reaches every viewer, once, made in one message (a card renamed)', async () => {
    const { viewer, heard, sender } = await viewerAndSender();
    const title = 'Renamed, the answer lost, no id';
    const seq = await commitWithAnswerLost(sender, { taskId: task.id, patch: { title } });
    expect(await heardOnceAfterTheLook(viewer, heard, sender, seq)).toMatchObject({
      type: 'task.updated',
      clientMutationId: null,
      data: { task: { title } },
    });
  }, 40_000);

  it('reaches every viewer, once, made in a transaction of several round trips (a card added)', async () => {
    const { viewer, heard, sender } = await viewerAndSender();
    const title = 'Added, the answer lost, no id';
    proxy.swallowFrom(/board_events/, /\bcommit\b/i); // the answer to the commit of the transaction that logged its event
    const firstTry = request(sender, 'task:create', { projectId: project.id, columnId, title });
    const seq = await committedSeq(title);
    await proxy.cut();
    expect(await firstTry).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
    expect(await heardOnceAfterTheLook(viewer, heard, sender, seq)).toMatchObject({
      type: 'task.created',
      clientMutationId: null,
      data: { task: { title } },
    });
  }, 40_000);

  it("reaches every viewer, once, when it is a label's deletion: each card that carried it, told", async () => {
    const { viewer, heard, sender } = await viewerAndSender();
    const made = await api(node2.url, 'POST', `/orgs/${org.slug}/labels`, { name: 'lost in transit', color: '#d73a4a' }, alice.token);
    const labelled = await api(node2.url, 'PATCH', `/orgs/${org.slug}/tasks/${task.id}`, { labelIds: [made.body.id] }, alice.token);
    expect(labelled.status).toBe(200);
    await nextEvent<BoardEventJson>(viewer, 'board:event', (event) => event.seq === labelled.body.event.seq);

    proxy.swallowFrom(/board_events/, /\bcommit\b/i);
    const firstTry = api(node1.url, 'DELETE', `/orgs/${org.slug}/labels/${made.body.id}`, undefined, alice.token);
    await eventually(async () => expect(await db.query('select 1 from labels where id = $1', [made.body.id])).toHaveLength(0));
    await proxy.cut();
    expect((await firstTry).status).toBe(503);
    const seq = labelled.body.event.seq + 1;
    expect(await heardOnceAfterTheLook(viewer, heard, sender, seq)).toMatchObject({
      type: 'task.updated',
      data: { task: { id: task.id, labelIds: [] }, changed: ['labelIds'] },
    });
  }, 40_000);
});

// The change is a member's removal: its kick goes out once it commits, and no one sends one for a
// commit whose answer was lost. Only the connection that carried the commit breaks (one killed, say):
// the node's link for changes of access stays up, and so would not set off a sweep of its own.
describe('a change of access whose answer was lost', () => {
  /** Removes Bob through `node`, whose connection breaks as the removal commits; answers once `viewer`, Bob's, has been told. */
  async function removeBobWithAnswerLost(node: RunningServer, viewer: ClientSocket): Promise<void> {
    const revoked = nextEvent<{ orgId: string; reason: string }>(viewer, 'access:revoked', () => true, 20_000);
    proxy.breakAfter(/delete from "?memberships/i, /\bcommit\b/i);
    const removal = await api(node.url, 'DELETE', `/orgs/${org.slug}/members/${bob.user.id}`, undefined, alice.token);
    expect(removal.status).toBe(503);
    // The commit went on whole as the connection broke: PostgreSQL may apply it a moment after the node heard the break.
    await eventually(async () => expect(await db.query('select 1 from memberships where user_id = $1', [bob.user.id])).toHaveLength(0));
    // Sent as the removed member's sockets leave the org's rooms (`revocation.test.ts`).
    expect(await revoked).toEqual({ orgId: org.id, reason: 'removed' });
    await addMember(node2.url, org, bob, 'member'); // for any test after
  }

  it("still closes the org to the member it removed: every node re-checks its sockets' access", async () => {
    const { viewer } = await viewerAndSender();
    await removeBobWithAnswerLost(node1, viewer);
  }, 40_000);

  it('does so on a node alone too (no Redis)', async () => {
    const throughProxy = new URL(db.url);
    throughProxy.port = String(proxy.port);
    const alone = await startServer({ DATABASE_URL: throughProxy.toString() });
    try {
      const viewer = await connect(alone.url, { token: bob.token });
      await ok(viewer, 'board:join', { projectId: project.id });
      await removeBobWithAnswerLost(alone, viewer);
    } finally {
      await alone.close();
    }
  }, 40_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POOL_SIZE } from '../server/db/orm.js';
import { addMember, api, createOrg, createProject, registerUser } from './support/api.js';
import { createTestDatabase, holdLock, lockWaiters, type TestDatabase } from './support/database.js';
import { createKey } from './support/governance.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok } from './support/sockets.js';

// A crowd that arrives at once (a stopped node's clients moving here, a team opening a big board)
// must not take every database connection of the node from other tenants' changes.
let db: TestDatabase;
let node: RunningServer;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

describe('a crowd arriving at once', () => {
  it("leaves database connections to another tenant's change while twenty bots join a big board", async () => {
    const owner = await registerUser(node.url, 'owner');
    const org = await createOrg(node.url, owner);
    const { project, columns } = await createProject(node.url, org, 'Big');
    await db.query(
      `insert into tasks (id, org_id, project_id, column_id, title, description, priority, position, version, created_by_id, created_at, updated_at)
       select gen_random_uuid(), $1, $2, $3, 'Task ' || i, repeat('words ', 60), 1, 'a' || lpad(i::text, 6, '0'), 1, $4, now(), now()
         from generate_series(1, 2000) i`,
      [org.id, project.id, columns[0]!.id, owner.user.id],
    );
    // Twenty accounts, each within its own four at once.
    const bots: ClientSocket[] = [];
    for (let i = 0; i < 20; i++) bots.push(await connect(node.url, { apiKey: (await createKey(node.url, org, ['boards:read'])).key }));
    const other = await registerUser(node.url, 'other');
    const otherOrg = await createOrg(node.url, other);
    const small = await createProject(node.url, otherOrg, 'Small');
    const writer = await connect(node.url, { token: other.token });
    const { task } = await ok(writer, 'task:create', { projectId: small.project.id, columnId: small.columns[0]!.id, title: 'Mine' });

    // The joins' reads wait on a lock: those the arrivals lane lets in hold a connection each, the
    // others wait their turn on the node, holding none.
    const release = await holdLock(db, 'lock table board_columns in access exclusive mode');
    try {
      let joined = 0;
      const joins = bots.map(async (bot) => {
        const board = await ok(bot, 'board:join', { projectId: project.id }, 30_000);
        joined += 1;
        return board;
      });
      await eventually(async () => expect(await lockWaiters(db)).toBe(POOL_SIZE / 2));
      // Answered while every join still waits (queued behind the crowd for a connection, it came back after 14 to 18 of them).
      await ok(writer, 'task:update', { taskId: task.id, patch: { title: 'Still mine' } });
      expect(joined).toBe(0);
      await release();
      for (const board of await Promise.all(joins)) expect(board.tasks).toHaveLength(2000);
    } finally {
      await release();
    }
  });

  it('answers a join that shares a waiting read with every change committed before it asked', async () => {
    const owner = await registerUser(node.url, 'sharer');
    const org = await createOrg(node.url, owner);
    const { project, columns } = await createProject(node.url, org, 'Shared');
    const writer = await connect(node.url, { token: owner.token });
    const { task } = await ok(writer, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Before' });
    const bots: ClientSocket[] = [];
    for (let i = 0; i < 7; i++) bots.push(await connect(node.url, { apiKey: (await createKey(node.url, org, ['boards:read'])).key }));

    // Five reads of the board take the arrivals lane's five places and wait on a lock; the joins
    // after them wait their turn and share one read.
    const release = await holdLock(db, 'lock table board_columns in access exclusive mode');
    const joins = bots.slice(0, 5).map((bot) => ok(bot, 'board:join', { projectId: project.id }, 30_000));
    await eventually(async () => expect(await lockWaiters(db)).toBe(5));
    const waiting = ok(bots[5]!, 'board:join', { projectId: project.id }, 30_000);
    await ok(writer, 'task:update', { taskId: task.id, patch: { title: 'After' } });
    const late = ok(bots[6]!, 'board:join', { projectId: project.id }, 30_000);
    await release();

    // The late join is not in the room when the change is broadcast: only its snapshot can carry it.
    const board = await late;
    expect(board.tasks.map((t: { title: string }) => t.title)).toEqual(['After']);
    for (const answer of [...(await Promise.all(joins)), await waiting]) expect(answer.tasks).toHaveLength(1);
  });

  it('does not answer the board over HTTP to a member removed while their read waited for its turn', async () => {
    const owner = await registerUser(node.url, 'remover');
    const org = await createOrg(node.url, owner);
    const { project } = await createProject(node.url, org, 'Private');
    const bob = await registerUser(node.url, 'bob');
    await addMember(node.url, org, bob, 'member');
    const keys = await Promise.all(Array.from({ length: 5 }, () => createKey(node.url, org, ['boards:read'])));
    const board = `/orgs/${org.slug}/projects/${project.id}`;
    const arrivals = node.server.ctx.arrivals;
    const run = arrivals.run.bind(arrivals);
    let asked = 0;
    arrivals.run = (work, wanted) => ((asked += 1), run(work, wanted));
    try {
      // Five reads take the lane's places and wait on a lock; bob's, its standing checked, waits its turn.
      const release = await holdLock(db, 'lock table task_labels in access exclusive mode');
      const reads = keys.map((key) => api(node.url, 'GET', board, undefined, key.key));
      await eventually(async () => expect(await lockWaiters(db)).toBe(5));
      const bobs = api(node.url, 'GET', board, undefined, bob.token);
      await eventually(() => expect(asked).toBe(6));
      expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/members/${bob.user.id}`, undefined, owner.token)).status).toBe(204);
      await release();
      for (const read of await Promise.all(reads)) expect(read.status).toBe(200);
      const answer = await bobs; // refused as a non-member is (DESIGN §6)
      expect({ status: answer.status, code: answer.body.error?.code, tasks: answer.body.tasks }).toEqual({
        status: 403,
        code: 'FORBIDDEN',
        tasks: undefined,
      });
    } finally {
      arrivals.run = run;
    }
  });
});

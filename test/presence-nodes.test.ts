import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectJson, TaskJson, Viewer } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { startTwoNodes } from './support/processes.js';
import { closeAllSockets, connect, markEditing, nextEvent, ok } from './support/sockets.js';
import { useTwoNodes } from './support/two-nodes.js';

// Presence on two server processes: who is on a board is seen across nodes, and a node that dies
// takes its viewers off the list within PRESENCE_REFRESH (1 s here).
const cluster = useTwoNodes({ PRESENCE_REFRESH: '1s' });
let alice: TestUser;
let bob: TestUser;
let project: ProjectJson;

beforeAll(async () => {
  const { node1 } = cluster;
  alice = await registerUser(node1.url, 'alice');
  bob = await registerUser(node1.url, 'bob');
  const org = await createOrg(node1.url, alice);
  await addMember(node1.url, org, bob, 'member');
  ({ project } = await createProject(node1.url, org));
});

afterAll(() => closeAllSockets());

type PresenceChanged = { projectId: string; viewers: Viewer[] };
const names = (p: PresenceChanged) => p.viewers.map((v) => v.name).join();

describe('presence across nodes', () => {
  it('forgets what a viewer of the other node was editing of a card deleted on this one', async () => {
    const aliceSocket = await connect(cluster.node1.url, { token: alice.token });
    const bobSocket = await connect(cluster.node2.url, { token: bob.token });
    try {
      const { columns } = await ok(aliceSocket, 'board:join', { projectId: project.id });
      const both = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p) === 'alice,bob');
      await ok(bobSocket, 'board:join', { projectId: project.id });
      await both;
      const { task } = (await ok(aliceSocket, 'task:create', { projectId: project.id, columnId: columns[0].id, title: 'Gone soon' })) as {
        task: TaskJson;
      };
      await markEditing(aliceSocket, bobSocket, project.id, task.id);

      const forgotten = nextEvent<PresenceChanged>(
        aliceSocket,
        'presence:changed',
        (p) => names(p) === 'alice,bob' && p.viewers.every((v) => v.editingTaskId === undefined),
      );
      await ok(aliceSocket, 'task:delete', { taskId: task.id });
      await forgotten;
    } finally {
      aliceSocket.disconnect();
      bobSocket.disconnect();
    }
  });

  it('lists viewers of both nodes, shows who edits what, and drops the viewers of a node that dies', async () => {
    const aliceSocket = await connect(cluster.node1.url, { token: alice.token });
    const bobSocket = await connect(cluster.node2.url, { token: bob.token });
    await ok(aliceSocket, 'board:join', { projectId: project.id });
    const both = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p) === 'alice,bob');
    await ok(bobSocket, 'board:join', { projectId: project.id });
    await both;

    const { task } = (await ok(aliceSocket, 'task:create', {
      projectId: project.id,
      columnId: (await ok(aliceSocket, 'board:join', { projectId: project.id })).columns[0].id,
      title: 'Edit me',
    })) as { task: TaskJson };
    const editing = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) =>
      p.viewers.some((v) => v.name === 'bob' && v.editingTaskId === task.id),
    );
    await ok(bobSocket, 'presence:update', { projectId: project.id, editingTaskId: task.id });
    await editing;

    const alone = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p) === 'alice', 10_000);
    const killedAt = Date.now();
    await cluster.node2.kill();
    await alone;
    expect(Date.now() - killedAt).toBeLessThan(10_000);
  });
});

describe('a node that dies before the others re-read the board', () => {
  it("takes its viewer off the list the others' sockets were sent by it", async () => {
    // A refresh long enough that node 1 does not re-read the board between bob's join on node 2
    // and node 2's death: node 1 has only ever sent the list of its own viewer.
    const pair = await startTwoNodes(cluster.db.url, { PRESENCE_REFRESH: '5s' });
    try {
      // The pair signs with a secret of its own: the same people, logged in again.
      const tokenOf = async (user: TestUser) =>
        (await api(pair.node1.url, 'POST', '/auth/login', { email: user.email, password: 'correct horse battery' })).body.token as string;
      const aliceSocket = await connect(pair.node1.url, { token: await tokenOf(alice) });
      const bobSocket = await connect(pair.node2.url, { token: await tokenOf(bob) });
      const first = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p) === 'alice');
      await ok(aliceSocket, 'board:join', { projectId: project.id });
      await first; // node 1's list, sent before bob comes
      const both = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p) === 'alice,bob');
      await ok(bobSocket, 'board:join', { projectId: project.id });
      await both; // node 2's list
      const alone = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p) === 'alice', 12_000);
      await pair.node2.kill();
      await alone;
    } finally {
      await pair.node1.stop();
      await pair.redis.stop();
    }
  }, 90_000); // it starts two more server processes, which a loaded machine can take a while over
});

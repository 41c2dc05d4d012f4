import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectJson, Viewer } from '../shared/wire.js';
import { addMember, createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { closeAllSockets, connect, nextEvent, ok, request } from './support/sockets.js';

let db: TestDatabase;
let node: RunningServer;
let alice: TestUser;
let bob: TestUser;
let project: ProjectJson;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  alice = await registerUser(node.url, 'alice');
  bob = await registerUser(node.url, 'bob');
  const org = await createOrg(node.url, alice);
  await addMember(node.url, org, bob, 'viewer');
  ({ project } = await createProject(node.url, org));
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

type PresenceChanged = { projectId: string; viewers: Viewer[] };
const names = (p: PresenceChanged) => p.viewers.map((v) => v.name);

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

    const { tasks } = await ok(aliceSocket, 'board:join', { projectId: project.id });
    const editingId = tasks[0]?.id ?? '00000000-0000-4000-8000-000000000001';
    const editing = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) =>
      p.viewers.some((v) => v.editingTaskId === editingId),
    );
    await ok(bobSocket, 'presence:update', { projectId: project.id, editingTaskId: editingId });
    expect((await editing).viewers.find((v) => v.id === bob.user.id)?.editingTaskId).toBe(editingId);

    const left = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice');
    await ok(bobSocket, 'board:leave', { projectId: project.id });
    await left;

    await ok(bobSocket, 'board:join', { projectId: project.id });
    await nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice,bob');
    const gone = nextEvent<PresenceChanged>(aliceSocket, 'presence:changed', (p) => names(p).join() === 'alice');
    bobSocket.disconnect();
    await gone;
  });

  it('refuses presence on a board the socket has not joined', async () => {
    const socket = await connect(node.url, { token: bob.token });
    const refused = await request(socket, 'presence:update', { projectId: project.id, editingTaskId: null });
    expect(refused).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
  });
});

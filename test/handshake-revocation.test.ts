import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskFlowSocket } from '../server/realtime/types.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { nextEvent } from './support/sockets.js';

// A handshake reads the orgs its socket may hear, and the socket joins their rooms only after: a
// member removed (or a key revoked) in between must not leave that socket hearing the org.
let db: TestDatabase;
let node: RunningServer;
let owner: TestUser;
let victim: TestUser;
let org: TestOrg;
let victimsOwnOrg: TestOrg;
const sockets: Socket[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  [owner, victim] = await Promise.all([registerUser(node.url, 'owner'), registerUser(node.url, 'victim')]);
  org = await createOrg(node.url, owner);
  victimsOwnOrg = await createOrg(node.url, victim);
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await node?.close();
  await db?.drop();
});

/**
 * Holds the next handshake of a socket that `matches` once the server's own handshake has read
 * its orgs (a middleware of the test's, after the server's): `reached` resolves then, and the
 * socket joins its rooms only after `release`.
 */
function holdNextHandshake(matches: (socket: TaskFlowSocket) => boolean): { reached: Promise<void>; release: () => void } {
  let reachedIt!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (reachedIt = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  node.server.io.use((socket, next) => {
    if (held || !matches(socket)) return next();
    held = true;
    reachedIt();
    void gate.then(() => next());
  });
  return { reached, release };
}

/** A socket with its listeners set before it connects, so it misses nothing sent as it does. */
function socketOf(auth: Record<string, unknown>): Socket {
  const socket = io(node.url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false });
  sockets.push(socket);
  return socket;
}

describe('a removal while the socket is in its handshake', () => {
  it('revokes the socket once it joins its rooms, and it hears that org no more', async () => {
    await addMember(node.url, org, victim, 'member');
    const held = holdNextHandshake((socket) => socket.data.principal.kind === 'user' && socket.data.principal.userId === victim.user.id);
    const socket = socketOf({ token: victim.token });
    const revoked = nextEvent(socket as never, 'access:revoked');
    const heard: Array<{ orgId: string; type: string }> = [];
    socket.on('org:event', (event) => heard.push(event));
    socket.connect();

    await held.reached;
    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/members/${victim.user.id}`, undefined, owner.token)).status).toBe(204);
    held.release();
    expect(await revoked).toEqual({ orgId: org.id, reason: 'removed' });

    // The org's next event does not reach the socket: an event of the org the victim still
    // belongs to, made after it, arrives with nothing of the other before it.
    await createProject(node.url, org, 'Secret plans');
    const barrier = nextEvent(socket as never, 'org:event', (event) => event.orgId === victimsOwnOrg.id);
    await createProject(node.url, victimsOwnOrg, 'Barrier');
    await barrier;
    expect(heard.filter((event) => event.orgId === org.id)).toEqual([]);
    expect(socket.connected).toBe(true); // a user keeps the orgs they still belong to
  });

  it("closes a bot's socket whose key was revoked while it connected", async () => {
    const created = await api(node.url, 'POST', `/orgs/${org.slug}/api-keys`, { name: 'bot', permissions: ['boards:read'] }, owner.token);
    expect(created.status).toBe(201);
    const keyId: string = created.body.apiKey.id;
    const held = holdNextHandshake((socket) => socket.data.principal.kind === 'bot' && socket.data.principal.keyId === keyId);
    const socket = socketOf({ apiKey: created.body.key });
    const revoked = nextEvent(socket as never, 'access:revoked');
    const closed = new Promise((resolve) => socket.once('disconnect', resolve));
    socket.connect();

    await held.reached;
    expect((await api(node.url, 'DELETE', `/orgs/${org.slug}/api-keys/${keyId}`, undefined, owner.token)).status).toBe(204);
    held.release();
    expect(await revoked).toEqual({ orgId: org.id, reason: 'key_revoked' });
    expect(await closed).toBe('io server disconnect');
  });
});

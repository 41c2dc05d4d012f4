import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskFlowSocket } from '../server/realtime/types.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RedisProcess, startRedis } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';
import { nextEvent } from './support/sockets.js';

// A handshake reads the orgs its socket may hear, and the socket joins their rooms only after: a
// member removed (or a key revoked) in between must not leave that socket hearing the org, and a
// member added in between must hear it, whichever node the change was made on.
let db: TestDatabase;
let redis: RedisProcess;
let node: RunningServer;
let otherNode: RunningServer;
let owner: TestUser;
let victim: TestUser;
let org: TestOrg;
let victimsOwnOrg: TestOrg;
const sockets: Socket[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await startRedis();
  [node, otherNode] = await Promise.all([
    startServer({ DATABASE_URL: db.url, REDIS_URL: redis.url }),
    startServer({ DATABASE_URL: db.url, REDIS_URL: redis.url }),
  ]);
  [owner, victim] = await Promise.all([registerUser(node.url, 'owner'), registerUser(node.url, 'victim')]);
  org = await createOrg(node.url, owner);
  victimsOwnOrg = await createOrg(node.url, victim);
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await Promise.all([node?.close(), otherNode?.close()]);
  await redis?.stop();
  await db?.drop();
});

/**
 * Holds the next handshake of a socket that `matches` once the server's own handshake has read
 * its orgs (a middleware of the test's, after the server's): `reached` resolves then, and the
 * socket joins its rooms only after `release`.
 */
function holdNextHandshake(matches: (socket: TaskFlowSocket) => boolean): { reached: Promise<void>; release: () => void } {
  return holdNextHandshakeOn(node, matches);
}

function holdNextHandshakeOn(
  on: RunningServer,
  matches: (socket: TaskFlowSocket) => boolean,
): { reached: Promise<void>; release: () => void } {
  let reachedIt!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((resolve) => (reachedIt = resolve));
  const gate = new Promise<void>((resolve) => (release = resolve));
  let held = false;
  on.server.io.use((socket, next) => {
    if (held || !matches(socket)) return next();
    held = true;
    reachedIt();
    void gate.then(() => next());
  });
  return { reached, release };
}

/** A socket with its listeners set before it connects, so it misses nothing sent as it does. */
function socketOf(auth: Record<string, unknown>, on = node): Socket {
  const socket = io(on.url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false });
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

const connected = (socket: Socket) => new Promise<void>((resolve) => socket.once('connect', () => resolve()));

describe('an admission while the socket is in its handshake', () => {
  const isUser = (user: TestUser) => (socket: TaskFlowSocket) =>
    socket.data.principal.kind === 'user' && socket.data.principal.userId === user.user.id;

  /** The `org:event`s a socket hears of `orgId`, up to the next one of `barrierOrg` (made by `makeBarrier`). */
  async function heardOf(socket: Socket, orgId: string, barrierOrg: TestOrg, act: () => Promise<unknown>): Promise<string[]> {
    const heard: string[] = [];
    socket.on('org:event', (event: { orgId: string; type: string }) => {
      if (event.orgId === orgId) heard.push(event.type);
    });
    await act();
    const barrier = nextEvent(socket as never, 'org:event', (event) => event.orgId === barrierOrg.id);
    await createProject(node.url, barrierOrg, 'Barrier');
    await barrier;
    return heard;
  }

  it('a user who makes an org while their client connects hears its events on that socket', async () => {
    const maker = await registerUser(node.url, 'maker');
    const makersFirstOrg = await createOrg(node.url, maker);
    const held = holdNextHandshake(isUser(maker));
    const socket = socketOf({ token: maker.token });
    socket.connect();

    await held.reached;
    const made = await createOrg(node.url, maker);
    held.release();
    await connected(socket);

    const heard = await heardOf(socket, made.id, makersFirstOrg, () => createProject(node.url, made, 'First board'));
    expect(heard).toEqual(['project.created']);
  });

  it("a member added on another node while their client connects hears the org's events on that socket", async () => {
    const newcomer = await registerUser(node.url, 'newcomer');
    const newcomersOwnOrg = await createOrg(node.url, newcomer);
    // The owner's socket on the newcomer's node: once it hears the member added, that node has
    // been told of the admission too (one Redis connection carries both, in order).
    const ownersSocket = socketOf({ token: owner.token }, otherNode);
    const ownerConnected = connected(ownersSocket);
    ownersSocket.connect();
    await ownerConnected;
    const held = holdNextHandshakeOn(otherNode, isUser(newcomer));
    const socket = socketOf({ token: newcomer.token }, otherNode);
    socket.connect();

    await held.reached;
    const added = nextEvent(ownersSocket as never, 'org:event', (event) => event.orgId === org.id && event.type === 'member.added');
    await addMember(node.url, org, newcomer, 'member');
    await added;
    held.release();
    await connected(socket);

    const heard = await heardOf(socket, org.id, newcomersOwnOrg, () => createProject(node.url, org, 'After the newcomer'));
    expect(heard).toEqual(['project.created']);
  });
});

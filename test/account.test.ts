import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { createKey } from './support/governance.js';
import { httpStatus, startRedis } from './support/processes.js';
import { type ClientSocket, closeAllSockets, connect, eventually, nextEvent, ok, request } from './support/sockets.js';
import { useTwoNodes } from './support/two-nodes.js';

// A user's own account: changing the password, and signing out the other sessions, end every
// session signed in before, on every node: their tokens are refused over HTTP and at a socket's
// handshake, and their live sockets are told (`access:revoked`, `signed_out`) and closed.

const PASSWORD = 'correct horse battery';
const cluster = useTwoNodes();
const n1 = () => cluster.node1.url;
const n2 = () => cluster.node2.url;
let org: TestOrg;
let board: Awaited<ReturnType<typeof createProject>>;

beforeAll(async () => {
  org = await createOrg(n1(), await registerUser(n1(), 'owner'));
  board = await createProject(n1(), org, 'Shared board');
});

/** A member of the org, signed in on a second device too (a token of a later login). */
async function member(name: string): Promise<TestUser & { otherDevice: string }> {
  const user = await registerUser(n1(), name);
  await addMember(n1(), org, user, 'member');
  const login = await api(n2(), 'POST', '/auth/login', { email: user.email, password: PASSWORD });
  expect(login.status).toBe(200);
  return { ...user, otherDevice: login.body.token };
}

/** Everything a socket is sent from now on, and whether it was disconnected. */
function watch(socket: ClientSocket) {
  const seen: Array<{ event: string; payload: any }> = [];
  (socket as Socket).onAny((event: string, payload: unknown) => seen.push({ event, payload }));
  const state = { seen, disconnected: false };
  socket.on('disconnect', () => (state.disconnected = true));
  return state;
}

const me = (url: string, token: string) => api(url, 'GET', '/me', undefined, token);
const connectError = (url: string, token: string) =>
  connect(url, { token }).then(
    () => 'connected',
    (error: Error) => error.message,
  );

describe('changing the password', () => {
  it('ends every session signed in before, over HTTP and at the handshake, on both nodes, and answers a fresh token', async () => {
    const user = await member('changer');
    const changed = await api(n1(), 'POST', '/auth/password', { currentPassword: PASSWORD, password: 'a brand new secret' }, user.token);
    expect(changed.status).toBe(200);
    expect(changed.body.user).toEqual(user.user);

    for (const url of [n1(), n2()]) {
      for (const token of [user.token, user.otherDevice]) {
        const refused = await me(url, token);
        expect(refused.status).toBe(401);
        expect(refused.body.error).toMatchObject({ code: 'UNAUTHORIZED', message: 'this session was ended: sign in again' });
        expect(await connectError(url, token)).toBe('UNAUTHORIZED');
        expect((await api(url, 'POST', '/auth/refresh', undefined, token)).status).toBe(401);
      }
      expect((await me(url, changed.body.token)).status).toBe(200);
      expect(await connectError(url, changed.body.token)).toBe('connected');
    }
    const refreshed = await api(n2(), 'POST', '/auth/refresh', undefined, changed.body.token);
    expect((await me(n1(), refreshed.body.token)).status).toBe(200);

    expect((await api(n1(), 'POST', '/auth/login', { email: user.email, password: PASSWORD })).status).toBe(401);
    expect((await api(n2(), 'POST', '/auth/login', { email: user.email, password: 'a brand new secret' })).status).toBe(200);
  });

  it("closes the user's live sockets on both nodes once they are told, and no one else's", async () => {
    const user = await member('watched');
    const teammate = await member('teammate');
    const sockets = await Promise.all([connect(n1(), { token: user.token }), connect(n2(), { token: user.otherDevice })]);
    for (const socket of sockets) await ok(socket, 'board:join', { projectId: board.project.id });
    const watched = sockets.map(watch);
    const bystander = await connect(n2(), { token: teammate.token });
    await ok(bystander, 'board:join', { projectId: board.project.id });
    const unaffected = watch(bystander);

    const changed = await api(n2(), 'POST', '/auth/password', { currentPassword: PASSWORD, password: 'another new secret' }, user.token);
    expect(changed.status).toBe(200);
    await eventually(() => expect(watched.map((socket) => socket.disconnected)).toEqual([true, true]));
    for (const socket of watched) {
      expect(socket.seen.filter((each) => each.event === 'access:revoked')).toEqual([
        { event: 'access:revoked', payload: { orgId: null, reason: 'signed_out' } },
      ]);
    }
    // The teammate's socket is still served.
    await ok(bystander, 'task:create', { projectId: board.project.id, columnId: board.columns[0]!.id, title: 'still here' });
    expect(unaffected.disconnected).toBe(false);
    expect(unaffected.seen.filter((each) => each.event === 'access:revoked')).toEqual([]);
    // A socket of the new token is served.
    const fresh = await connect(n1(), { token: changed.body.token });
    const freshState = watch(fresh);
    await ok(fresh, 'board:join', { projectId: board.project.id });
    expect(freshState.disconnected).toBe(false);
  });

  it('refuses a wrong current password (403, the session kept), throttled as failed logins are', async () => {
    const user = await member('forgetful');
    const wrong = () => api(n1(), 'POST', '/auth/password', { currentPassword: 'not it', password: 'whatever you like' }, user.token);
    const refused = await wrong();
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'FORBIDDEN', message: 'the current password is wrong' });
    expect((await me(n1(), user.token)).status).toBe(200);
    const statuses = [];
    for (let i = 0; i < 10; i++) statuses.push((await wrong()).status);
    expect(statuses.slice(0, 9)).toEqual(Array(9).fill(403));
    expect(statuses[9]).toBe(429);
    expect((await api(n1(), 'POST', '/auth/login', { email: user.email, password: PASSWORD })).status).toBe(429);
  });

  it('takes a new password of 8 to 200 characters, and only from a person', async () => {
    const user = await member('careful');
    const short = await api(n1(), 'POST', '/auth/password', { currentPassword: PASSWORD, password: 'short' }, user.token);
    expect(short.status).toBe(400);
    expect(short.body.error.code).toBe('VALIDATION_FAILED');
    const { key } = await createKey(n1(), org, ['boards:read']);
    for (const path of ['/auth/password', '/auth/sign-out-others']) {
      const bot = await api(n1(), 'POST', path, { currentPassword: PASSWORD, password: 'long enough now' }, key);
      expect(bot.status).toBe(403);
    }
    expect((await me(n1(), user.token)).status).toBe(200);
  });
});

describe('signing out the other sessions', () => {
  it("lets only one of several sent at once with one token through: a stolen token cannot outlast its owner's sign-out", async () => {
    const user = await member('raced');
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => api(i % 2 ? n2() : n1(), 'POST', '/auth/sign-out-others', undefined, user.token)),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401, 401, 401, 401]);
    const [winner] = answers.filter((answer) => answer.status === 200);
    expect((await me(n1(), winner!.body.token)).status).toBe(200);
    const changed = await api(n1(), 'POST', '/auth/password', { currentPassword: PASSWORD, password: 'not for the thief' }, user.token);
    expect(changed.status).toBe(401);
  });

  it('ends every session but the fresh one it answers, sockets closed', async () => {
    const user = await member('lost-laptop');
    const laptop = watch(await connect(n2(), { token: user.otherDevice }));
    const answer = await api(n1(), 'POST', '/auth/sign-out-others', undefined, user.token);
    expect(answer.status).toBe(200);
    await eventually(() => expect(laptop.disconnected).toBe(true));
    expect(laptop.seen).toContainEqual({ event: 'access:revoked', payload: { orgId: null, reason: 'signed_out' } });
    expect((await me(n2(), user.otherDevice)).status).toBe(401);
    expect((await me(n2(), user.token)).status).toBe(401);
    expect((await me(n2(), answer.body.token)).status).toBe(200);
    // The password is unchanged.
    expect((await api(n1(), 'POST', '/auth/login', { email: user.email, password: PASSWORD })).status).toBe(200);
    closeAllSockets();
  });
});

describe('ended sessions while Redis is down', () => {
  afterAll(async () => {
    if (!cluster.redis.running()) cluster.redis = await startRedis(cluster.redis.port);
  });

  it('refuses the next event of, and closes, a socket whose session was ended and whose kick was lost; an idle one once Redis returns', async () => {
    const user = await member('outage');
    const socket = await connect(n2(), { token: user.otherDevice });
    await ok(socket, 'board:join', { projectId: board.project.id });
    const state = watch(socket);
    const active = await connect(n2(), { token: user.otherDevice });
    await ok(active, 'board:join', { projectId: board.project.id });
    const activeState = watch(active);
    await cluster.redis.kill();
    for (const node of [cluster.node1, cluster.node2])
      await eventually(async () => expect(await httpStatus(`${node.url}/readyz`)).toBe(503), 10_000);
    // Ended in the database, as a password change on another node would, with no kick that could travel.
    await cluster.db.query('update users set session_version = session_version + 1 where id = $1', [user.user.id]);
    const tasks = () => cluster.db.query('select 1 from tasks where title = $1', ['after the end']);
    const refused = await request(active, 'task:create', {
      projectId: board.project.id,
      columnId: board.columns[0]!.id,
      title: 'after the end',
    });
    expect(refused).toEqual({ ok: false, error: { code: 'UNAUTHORIZED', message: 'this session was ended: sign in again' } });
    expect(await tasks()).toEqual([]);
    await eventually(() => expect(activeState.disconnected).toBe(true));
    expect(activeState.seen).toContainEqual({ event: 'access:revoked', payload: { orgId: null, reason: 'signed_out' } });
    expect(state.disconnected).toBe(false);

    const revoked = nextEvent(socket, 'access:revoked', () => true, 20_000);
    cluster.redis = await startRedis(cluster.redis.port);
    expect(await revoked).toEqual({ orgId: null, reason: 'signed_out' });
    await eventually(() => expect(state.disconnected).toBe(true));
  }, 30_000);
});

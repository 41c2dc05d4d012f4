import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessMessageReader, signedAccessMessage } from '../server/realtime/access-messages.js';
import type { Ack } from '../shared/events.js';
import type { BoardEventJson, ColumnJson, ProjectJson, TaskEventData, TaskJson } from '../shared/wire.js';
import { addMember, api, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { httpStatus, startRedis } from './support/processes.js';
import { type ClientSocket, closeAllSockets, connect, eventually, nextEvent, ok, request } from './support/sockets.js';
import { useTwoNodes } from './support/two-nodes.js';

// Revocation across two `server/main.ts` processes on one Redis of the test's own (DESIGN §7): the
// kick travels through Redis and arrives within a second; while Redis is down it travels through
// PostgreSQL (`LISTEN`/`NOTIFY`); and a kick lost both ways (a removal made in SQL stands for one)
// is still carried by the database re-check on every join and mutation.
/** How soon after the revoking request is answered its `access:revoked` must reach the other node. */
const KICK_WITHIN_MS = 1000;
/** What a socket is told when the re-check finds no membership: sockets say NOT_FOUND, routes FORBIDDEN. */
const REFUSED = ['FORBIDDEN', 'NOT_FOUND'];

type Board = { project: ProjectJson; columns: ColumnJson[] };

/** The nodes' JWT_SECRET, which also signs what they send each other through the database. */
const SECRET = randomBytes(32).toString('hex');
const cluster = useTwoNodes({ JWT_SECRET: SECRET });
let org: TestOrg;
let otherOrg: TestOrg;
let alice: TestUser;
let carol: TestUser;
let bob: TestUser;
let dave: TestUser;
let erin: TestUser;
let frank: TestUser;
let boardA: Board;
let boardB: Board;
let boardC: Board;

const n1 = () => cluster.node1.url;
const n2 = () => cluster.node2.url;

beforeAll(async () => {
  [alice, carol, bob, dave, erin, frank] = await Promise.all(
    ['alice', 'carol', 'bob', 'dave', 'erin', 'frank'].map((name, i) => registerUser(i % 2 ? n2() : n1(), name)),
  );
  org = await createOrg(n1(), alice);
  for (const user of [carol, bob, dave, erin, frank]) await addMember(n1(), org, user, 'member');
  boardA = await createProject(n1(), org, 'Board A');
  boardB = await createProject(n2(), org, 'Board B');
  // Bob also owns an org of his own: losing one org must not cost him the others.
  otherOrg = await createOrg(n2(), bob);
  boardC = await createProject(n2(), otherOrg, 'Board C');
});

afterAll(() => closeAllSockets());

/** A socket of `auth` on the node at `url`, joined to each board. */
async function session(url: string, auth: Record<string, unknown>, ...boards: Board[]): Promise<ClientSocket> {
  const socket = await connect(url, auth);
  for (const board of boards) await ok(socket, 'board:join', { projectId: board.project.id });
  return socket;
}
const as = (user: TestUser) => ({ token: user.token });

function createTask(socket: ClientSocket, board: Board, title: string): Promise<{ task: TaskJson; event: BoardEventJson }> {
  return ok(socket, 'task:create', { projectId: board.project.id, columnId: board.columns[0]!.id, title });
}

function taskEvent(socket: ClientSocket, title: string): Promise<BoardEventJson<TaskEventData>> {
  return nextEvent<BoardEventJson<TaskEventData>>(socket, 'board:event', (e) => (e.data as TaskEventData)?.task?.title === title);
}

/** A change by `sender` that `watcher` must see (and the ack). */
async function changeSeenBy(sender: ClientSocket, board: Board, title: string, ...watchers: ClientSocket[]) {
  const [ack] = await Promise.all([createTask(sender, board, title), ...watchers.map((w) => taskEvent(w, title))]);
  return ack;
}

/** Every event a socket receives from now on, in order. */
function recordAll(socket: ClientSocket): Array<{ event: string; payload: any }> {
  const seen: Array<{ event: string; payload: any }> = [];
  (socket as Socket).onAny((event: string, payload: unknown) => seen.push({ event, payload }));
  return seen;
}

/** The events that concern `orgId` (its boards `projectIds`): board events, presence, org events. */
function ofOrg(seen: Array<{ event: string; payload: any }>, orgId: string, projectIds: string[]) {
  return seen.filter(({ payload }) => payload?.orgId === orgId || projectIds.includes(payload?.projectId));
}

/**
 * A round trip on `socket`: its ack leaves the server after anything the server emitted to that
 * socket before, so once it is back, such an emission would have arrived (no pause needed).
 */
async function barrier(socket: ClientSocket): Promise<void> {
  expect(await request(socket, 'board:leave', { projectId: randomUUID() })).toEqual({ ok: true, data: {} });
}

/** The promise's value and when it arrived. */
async function timed<T>(promise: Promise<T>): Promise<{ value: T; at: number }> {
  const value = await promise;
  return { value, at: Date.now() };
}

function refusalCode(answer: Ack<unknown>): string {
  expect(answer.ok).toBe(false);
  return answer.ok ? 'accepted' : answer.error.code;
}

/** Every board mutation and the joins, as `socket` would send them against `task` on `board`; answers each refusal code. */
async function attemptEverything(socket: ClientSocket, board: Board, task: TaskJson, other: Board): Promise<Record<string, string>> {
  const [todo, doing] = [board.columns[0]!.id, board.columns[1]!.id];
  const attempts: Array<[string, string, unknown]> = [
    ['board:join (joined before)', 'board:join', { projectId: board.project.id }],
    ['board:join (since a seq)', 'board:join', { projectId: board.project.id, sinceSeq: 0 }],
    ['board:join (another board)', 'board:join', { projectId: other.project.id }],
    ['task:create', 'task:create', { projectId: board.project.id, columnId: todo, title: 'refused create' }],
    ['task:update', 'task:update', { taskId: task.id, patch: { title: 'refused update' } }],
    ['task:move', 'task:move', { taskId: task.id, columnId: doing }],
    ['task:delete', 'task:delete', { taskId: task.id }],
    ['column:create', 'column:create', { projectId: board.project.id, name: 'refused column' }],
    ['column:update', 'column:update', { columnId: todo, patch: { name: 'refused rename' } }],
  ];
  const codes: Record<string, string> = {};
  // A revoked key's socket is closed at its first refused attempt: the rest find it closed, or
  // are cut off by the close while on their way.
  for (const [name, event, payload] of attempts) {
    codes[name] = socket.connected
      ? await request(socket, event, payload).then(refusalCode, (error: Error) =>
          /disconnected/.test(error.message) ? 'DISCONNECTED' : error.message,
        )
      : 'DISCONNECTED';
  }
  return codes;
}

/** The org's boards as the database holds them: what a refused attempt must leave as it was. */
async function boardRows(): Promise<unknown> {
  const ids = [boardA.project.id, boardB.project.id];
  return {
    projects: await cluster.db.query('select id, seq, name, status from projects where id = any($1) order by id', [ids]),
    columns: await cluster.db.query('select id, name, position, is_done from board_columns where project_id = any($1) order by id', [ids]),
    tasks: await cluster.db.query(
      'select id, title, column_id, position, version, priority from tasks where project_id = any($1) order by id',
      [ids],
    ),
    events: await cluster.db.query('select count(*)::int as n from board_events where project_id = any($1)', [ids]),
  };
}

const membership = (user: TestUser) =>
  cluster.db.query('select role from memberships where org_id = $1 and user_id = $2', [org.id, user.user.id]);

/**
 * A listener on the nodes' channel for changes of access, as anyone who may connect to the database
 * can be: `heard(match)` resolves with the payload of the first message read there that matches.
 */
async function listenOnAccessChannel() {
  const listener = new pg.Client({ connectionString: cluster.db.url });
  listener.on('error', () => {});
  await listener.connect();
  await listener.query('listen taskflow_access');
  const read = accessMessageReader(SECRET);
  const waiting = new Set<{ match: (message: { kind?: unknown; order?: unknown }) => boolean; resolve: (payload: string) => void }>();
  listener.on('notification', ({ payload }) => {
    const message = payload ? read(payload) : null;
    if (!message) return;
    for (const waiter of waiting) {
      if (!waiter.match(message)) continue;
      waiting.delete(waiter);
      waiter.resolve(payload!);
    }
  });
  return {
    heard: (match: (message: { kind?: unknown; order?: unknown }) => boolean) =>
      new Promise<string>((resolve) => waiting.add({ match, resolve })),
    end: () => listener.end(),
  };
}

/** Removes `user` from the org in SQL: a removal whose kick reaches no node, as one lost on both ways would. */
const removeUnheard = (user: TestUser) =>
  cluster.db.query('delete from memberships where user_id = $1 and org_id = $2', [user.user.id, org.id]);

describe('revocation through Redis', () => {
  it('kicks a member removed on node 1 out of the org on node 2 within a second; later events skip them; joins and mutations are refused', async () => {
    const alice1 = await session(n1(), as(alice), boardA, boardB);
    const carol2 = await session(n2(), as(carol), boardA, boardB);
    const bob2 = await session(n2(), as(bob), boardA, boardB, boardC);
    // Before: bob, on node 2, gets a change made on node 1, like carol.
    const before = await changeSeenBy(alice1, boardA, 'seen by bob before his removal', bob2, carol2);
    const bobSeen = recordAll(bob2);

    const kick = timed(nextEvent(bob2, 'access:revoked'));
    const removal = await api(n1(), 'DELETE', `/orgs/${org.slug}/members/${bob.user.id}`, undefined, alice.token);
    const answeredAt = Date.now();
    expect(removal.status).toBe(204);
    const { value: revoked, at } = await kick;
    expect(revoked).toEqual({ orgId: org.id, reason: 'removed' });
    expect(at - answeredAt, 'ms from the DELETE answer to access:revoked on node 2').toBeLessThan(KICK_WITHIN_MS);
    expect(await membership(bob)).toEqual([]);
    const kickedAt = bobSeen.findIndex((e) => e.event === 'access:revoked');

    // Later changes of both boards, and a later org event, reach carol on node 2 but not bob.
    await changeSeenBy(alice1, boardA, 'board A, after bob left', carol2);
    await changeSeenBy(alice1, boardB, 'board B, after bob left', carol2);
    const [created] = await Promise.all([
      api(n1(), 'POST', `/orgs/${org.slug}/projects`, { name: 'created after bob left' }, alice.token),
      nextEvent(carol2, 'org:event', (e) => e.type === 'project.created' && (e.data as any).project.name === 'created after bob left'),
    ]);
    expect(created.status).toBe(201);

    // Bob keeps his socket and his own org: a change there still reaches him.
    expect(bob2.connected).toBe(true);
    const mine = { columnId: boardC.columns[0]!.id, title: 'in bob’s own org' };
    const [own] = await Promise.all([
      api(n1(), 'POST', `/orgs/${otherOrg.slug}/projects/${boardC.project.id}/tasks`, mine, bob.token),
      taskEvent(bob2, mine.title),
    ]);
    expect(own.status).toBe(201);

    // The database re-check refuses every join and mutation in the org he left, and changes nothing.
    const rows = await boardRows();
    const codes = await attemptEverything(bob2, boardA, before.task, boardB);
    for (const [attempt, code] of Object.entries(codes)) expect(REFUSED, attempt).toContain(code);
    expect((await api(n2(), 'GET', `/orgs/${org.slug}/projects/${boardA.project.id}`, undefined, bob.token)).status).toBe(403);
    expect(await boardRows()).toEqual(rows);

    await barrier(bob2);
    const orgProjects = [boardA.project.id, boardB.project.id, created.body.project.id];
    expect(ofOrg(bobSeen.slice(kickedAt + 1), org.id, orgProjects)).toEqual([]);
    expect(bobSeen.filter((e) => e.event === 'access:revoked')).toHaveLength(1);
  });

  it('sends a bot whose key is revoked on node 1 access:revoked on node 2 within a second, closes it, and refuses the key after', async () => {
    const created = await api(
      n1(),
      'POST',
      `/orgs/${org.slug}/api-keys`,
      { name: 'revocable bot', permissions: ['boards:read', 'tasks:write'] },
      alice.token,
    );
    expect(created.status).toBe(201);
    const { apiKey, key } = created.body as { apiKey: { id: string }; key: string };
    const alice1 = await session(n1(), as(alice), boardA);
    const carol2 = await session(n2(), as(carol), boardA);
    const bot2 = await session(n2(), { apiKey: key }, boardA);
    // Before: the bot on node 2 writes, and sees a change made on node 1.
    await changeSeenBy(bot2, boardA, 'made by the bot', alice1, carol2);
    await changeSeenBy(alice1, boardA, 'seen by the bot', bot2);
    const botSeen = recordAll(bot2);

    const kick = timed(nextEvent(bot2, 'access:revoked'));
    const closed = timed(nextEvent<string>(bot2, 'disconnect'));
    const revocation = await api(n1(), 'DELETE', `/orgs/${org.slug}/api-keys/${apiKey.id}`, undefined, alice.token);
    const answeredAt = Date.now();
    expect(revocation.status).toBe(204);
    const { value: revoked, at } = await kick;
    expect(revoked).toEqual({ orgId: org.id, reason: 'key_revoked' });
    expect(at - answeredAt, 'ms from the DELETE answer to access:revoked on node 2').toBeLessThan(KICK_WITHIN_MS);
    const disconnected = await closed;
    expect(disconnected.value).toBe('io server disconnect');
    expect(disconnected.at - answeredAt, 'ms from the DELETE answer to the disconnect').toBeLessThan(KICK_WITHIN_MS);
    expect(bot2.connected).toBe(false);
    expect(await cluster.db.query('select revoked_at is not null as revoked from api_keys where id = $1', [apiKey.id])).toEqual([
      { revoked: true },
    ]);

    // The key opens nothing any more, on either node.
    for (const url of [n1(), n2()]) await expect(connect(url, { apiKey: key })).rejects.toThrow(/^UNAUTHORIZED$/);
    expect((await api(n2(), 'GET', `/orgs/${org.slug}/projects/${boardA.project.id}`, undefined, key)).status).toBe(401);

    // A later change reaches carol on node 2; the bot got nothing after the kick.
    await changeSeenBy(alice1, boardA, 'after the bot was revoked', carol2);
    const kickSeen = botSeen.findIndex((e) => e.event === 'access:revoked');
    expect(kickSeen, 'access:revoked received').toBeGreaterThanOrEqual(0);
    expect(botSeen.slice(kickSeen + 1)).toEqual([]);
  });
});

describe('revocation while Redis is down (the database carries it)', () => {
  let alice1: ClientSocket;
  let carol2: ClientSocket;
  let dave2: ClientSocket;
  let erin2: ClientSocket;
  let frank2: ClientSocket;
  let bot2: ClientSocket;
  let botKeyId: string;
  let gina: TestUser;
  let gina2: ClientSocket;
  let ivan: TestUser;
  let ivan2: ClientSocket;
  let jill: TestUser;
  let jill2: ClientSocket;
  let lena: TestUser;
  let lena2: ClientSocket;
  let mona: TestUser;
  let mona2: ClientSocket;
  let olga: TestUser;
  let olga2: ClientSocket;
  let pia: TestUser;
  let pia2: ClientSocket;
  let kate: TestUser;
  let kate2: ClientSocket;
  let nora: TestUser;
  let nora2: ClientSocket;
  let bot2b: ClientSocket;
  let botKeyIdB: string;

  /** A bot's key of the org, made on node 1, and its socket on node 2, joined to board A. */
  async function botOnNode2(name: string): Promise<{ keyId: string; socket: ClientSocket }> {
    const created = await api(
      n1(),
      'POST',
      `/orgs/${org.slug}/api-keys`,
      { name, permissions: ['boards:read', 'tasks:write'] },
      alice.token,
    );
    return { keyId: created.body.apiKey.id, socket: await session(n2(), { apiKey: created.body.key }, boardA) };
  }

  beforeAll(async () => {
    ({ keyId: botKeyId, socket: bot2 } = await botOnNode2('outage bot'));
    ({ keyId: botKeyIdB, socket: bot2b } = await botOnNode2('outage bot B'));
    alice1 = await session(n1(), as(alice), boardA);
    carol2 = await session(n2(), as(carol), boardA);
    dave2 = await session(n2(), as(dave), boardA);
    erin2 = await session(n2(), as(erin), boardA);
    frank2 = await session(n2(), as(frank), boardA);
    [gina, ivan, jill, lena, mona, olga, pia] = await Promise.all(
      ['gina', 'ivan', 'jill', 'lena', 'mona', 'olga', 'pia'].map((name) => registerUser(n1(), name)),
    );
    for (const user of [gina, ivan, jill, lena, mona, olga, pia]) await addMember(n1(), org, user, 'member');
    [gina2, ivan2, jill2, lena2, mona2, olga2, pia2] = await Promise.all(
      [gina, ivan, jill, lena, mona, olga, pia].map((user) => session(n2(), as(user), boardA)),
    );
    [kate, nora] = await Promise.all(['kate', 'nora'].map((name) => registerUser(n1(), name)));
    [kate2, nora2] = await Promise.all([kate, nora].map((user) => session(n2(), as(user)))); // in no org yet
    // Cross-node delivery works before the outage: these sockets are in the board's room on node 2.
    await changeSeenBy(
      alice1,
      boardA,
      'before the outage',
      carol2,
      dave2,
      erin2,
      frank2,
      bot2,
      gina2,
      ivan2,
      jill2,
      lena2,
      mona2,
      olga2,
      pia2,
      bot2b,
    );

    await cluster.redis.kill();
    for (const node of [cluster.node1, cluster.node2])
      await eventually(async () => expect(await httpStatus(`${node.url}/readyz`)).toBe(503), 10_000);
  }, 60_000);

  afterAll(async () => {
    // Redis returns, so the nodes end as they began.
    if (cluster.redis && !cluster.redis.running()) cluster.redis = await startRedis(cluster.redis.port);
  });

  it('refuses a member whose kick was lost every join and mutation on node 2, and the database is unchanged', async () => {
    // Node 2 still serves dave during the outage: the refusals below are his removal's, not the outage's.
    const daves = await createTask(dave2, boardA, 'by dave before his removal');
    const daveSeen = recordAll(dave2);

    await removeUnheard(dave);
    expect(await membership(dave)).toEqual([]);

    const rows = await boardRows();
    const codes = await attemptEverything(dave2, boardA, daves.task, boardB);
    for (const [attempt, code] of Object.entries(codes)) expect(REFUSED, attempt).toContain(code);
    expect(await boardRows()).toEqual(rows);
    // No kick reached node 2: the database refused him, and that refusal revoked his socket (once).
    expect(daveSeen.filter((e) => e.event === 'access:revoked').map((e) => e.payload)).toEqual([{ orgId: org.id, reason: 'removed' }]);
  });

  it('judges a member demoted to viewer on node 1 by the new role at their next mutation on node 2', async () => {
    const erins = await createTask(erin2, boardA, 'by erin while a member');

    const demotion = await api(n1(), 'PATCH', `/orgs/${org.slug}/members/${erin.user.id}`, { role: 'viewer' }, alice.token);
    expect(demotion.status).toBe(200);
    expect(demotion.body).toMatchObject({ user: { id: erin.user.id }, role: 'viewer' });
    expect(await membership(erin)).toEqual([{ role: 'viewer' }]);

    const rows = await boardRows();
    const todo = boardA.columns[0]!.id;
    const mutations: Array<[string, unknown]> = [
      ['task:create', { projectId: boardA.project.id, columnId: todo, title: 'refused: erin is a viewer' }],
      ['task:update', { taskId: erins.task.id, patch: { title: 'refused: erin is a viewer' } }],
      ['task:move', { taskId: erins.task.id, columnId: boardA.columns[1]!.id }],
      ['task:delete', { taskId: erins.task.id }],
      ['column:create', { projectId: boardA.project.id, name: 'refused: erin is a viewer' }],
    ];
    for (const [event, payload] of mutations) expect(refusalCode(await request(erin2, event, payload)), event).toBe('FORBIDDEN');
    expect(await boardRows()).toEqual(rows);
    // A viewer still reads the board.
    expect((await ok(erin2, 'board:join', { projectId: boardA.project.id })).tasks.map((t: TaskJson) => t.id)).toContain(erins.task.id);
  });

  it('refuses a bot whose key was revoked, its kick lost, every join and mutation on node 2', async () => {
    const bots = await createTask(bot2, boardA, 'by the bot before its key was revoked');
    await cluster.db.query('update api_keys set revoked_at = now() where id = $1', [botKeyId]);

    const rows = await boardRows();
    const codes = await attemptEverything(bot2, boardA, bots.task, boardB);
    for (const [attempt, code] of Object.entries(codes)) expect(['UNAUTHORIZED', 'DISCONNECTED', ...REFUSED], attempt).toContain(code);
    expect(bot2.connected, 'the database re-check closed the revoked key’s socket').toBe(false);
    expect(await boardRows()).toEqual(rows);
  });

  it('stops sending the org’s events to a removed member’s socket once the re-check has refused it', async () => {
    const frankSeen = recordAll(frank2);
    await removeUnheard(frank);
    // The join re-check is where node 2 learns that frank is gone.
    expect(REFUSED).toContain(refusalCode(await request(frank2, 'board:join', { projectId: boardA.project.id })));
    const learnedAt = frankSeen.length;

    // A change on node 2 (broadcast on this node only, as Redis is down) and an org event reach
    // carol there; frank, refused by the database, must not get them.
    await changeSeenBy(carol2, boardA, 'made on node 2 after frank was refused', erin2);
    const [created] = await Promise.all([
      api(n2(), 'POST', `/orgs/${org.slug}/projects`, { name: 'created after frank was refused' }, alice.token),
      nextEvent(
        carol2,
        'org:event',
        (e) => e.type === 'project.created' && (e.data as any).project.name === 'created after frank was refused',
      ),
    ]);
    expect(created.status).toBe(201);
    await barrier(frank2);
    const afterRefusal = frankSeen.slice(learnedAt).filter((e) => e.event !== 'access:revoked');
    expect(frankSeen.filter((e) => e.event === 'access:revoked').map((e) => e.payload)).toEqual([{ orgId: org.id, reason: 'removed' }]);
    const leaked = ofOrg(afterRefusal, org.id, [boardA.project.id, boardB.project.id, created.body.project.id]);
    expect(
      leaked.map((e) => `${e.event} ${e.payload?.type ?? ''}`),
      'events of the org delivered after the database refused frank',
    ).toEqual([]);
  });

  it('kicks a member removed on node 1 out of the org on node 2 through the database: later events there skip them, though they send nothing', async () => {
    const ivanSeen = recordAll(ivan2);
    const kicked = nextEvent(ivan2, 'access:revoked');
    const removal = await api(n1(), 'DELETE', `/orgs/${org.slug}/members/${ivan.user.id}`, undefined, alice.token);
    expect(removal.status).toBe(204);
    expect(await kicked).toEqual({ orgId: org.id, reason: 'removed' });
    const kickedAt = ivanSeen.length;

    await changeSeenBy(carol2, boardA, 'made on node 2 after ivan was kicked', erin2);
    await barrier(ivan2);
    expect(ivanSeen.filter((e) => e.event === 'access:revoked')).toHaveLength(1);
    const leaked = ofOrg(ivanSeen.slice(kickedAt), org.id, [boardA.project.id, boardB.project.id]);
    expect(leaked.map((e) => `${e.event} ${e.payload?.type ?? ''}`)).toEqual([]);
  });

  it('closes on node 2 the socket of a session its user ended on node 1', async () => {
    const ended = nextEvent(jill2, 'access:revoked');
    const closed = new Promise((resolve) => jill2.once('disconnect', resolve));
    const signOut = await api(n1(), 'POST', '/auth/sign-out-others', {}, jill.token);
    expect(signOut.status).toBe(200);
    expect(await ended).toEqual({ orgId: null, reason: 'signed_out' });
    await closed;
  });

  it('closes on node 2 the socket of a key revoked on node 1, through the database', async () => {
    const revoked = nextEvent(bot2b, 'access:revoked');
    const closed = new Promise((resolve) => bot2b.once('disconnect', resolve));
    const revocation = await api(n1(), 'DELETE', `/orgs/${org.slug}/api-keys/${botKeyIdB}`, undefined, alice.token);
    expect(revocation.status).toBe(204);
    expect(await revoked).toEqual({ orgId: org.id, reason: 'key_revoked' });
    await closed;
  });

  it('re-checks its sockets when asked to on the database channel, and takes no order there that its nodes did not sign', async () => {
    const carolSeen = recordAll(carol2);
    const kicked = nextEvent(lena2, 'access:revoked');
    await removeUnheard(lena);
    const notify = (payload: string) => cluster.db.query(`select pg_notify('taskflow_access', $1)`, [payload]);
    // Anyone who may connect to the database may send on its channels: a forged kick of carol, unsigned and signed with another secret.
    const forged = { kind: 'revoke', order: { room: `org:${org.id}`, orgId: org.id, reason: 'removed' } } as const;
    await notify(JSON.stringify(forged));
    await notify(signedAccessMessage('not the secret', forged));
    await notify(signedAccessMessage(SECRET, { kind: 'sweep' }));
    expect(await kicked).toEqual({ orgId: org.id, reason: 'removed' });
    // A notification is handled in the order it came: a forged kick taken would have reached carol first.
    await barrier(carol2);
    expect(carolSeen.filter((e) => e.event === 'access:revoked')).toEqual([]);
  });

  it('takes an order on the database channel once, and none sent long ago: a kick recorded there and sent again leaves a member let back in be', async () => {
    const channel = await listenOnAccessChannel();
    try {
      // Anyone who may listen on the channel may record a kick as it goes by.
      const recorded = channel.heard(
        (message) => message.kind === 'revoke' && (message.order as { room?: string }).room === `user:${olga.user.id}`,
      );
      const olgaSeen = recordAll(olga2);
      const kicked = nextEvent(olga2, 'access:revoked');
      expect((await api(n1(), 'DELETE', `/orgs/${org.slug}/members/${olga.user.id}`, undefined, alice.token)).status).toBe(204);
      expect(await kicked).toEqual({ orgId: org.id, reason: 'removed' });
      const kick = await recorded;

      // Let back in: her socket on node 2 hears the org again.
      await addMember(n1(), org, olga, 'member');
      const heardByOlga = () => olgaSeen.filter((e) => e.event === 'org:event' && e.payload.type === 'project.created');
      await eventually(async () => {
        const made = await api(n2(), 'POST', `/orgs/${org.slug}/projects`, { name: `heard by olga ${randomUUID()}` }, alice.token);
        expect(made.status).toBe(201);
        await barrier(olga2);
        expect(heardByOlga().length).toBeGreaterThan(0);
      });

      const notify = (payload: string) => cluster.db.query(`select pg_notify('taskflow_access', $1)`, [payload]);
      await notify(kick);
      const olgasKick = JSON.parse(kick.slice(kick.indexOf('.') + 1));
      await notify(signedAccessMessage(SECRET, olgasKick, { sentAt: Date.now() - 10 * 60_000, id: randomUUID() }));
      // A sweep sent after them kicks pia, removed unheard: by then node 2 has handled both.
      const piaKicked = nextEvent(pia2, 'access:revoked');
      await removeUnheard(pia);
      await notify(signedAccessMessage(SECRET, { kind: 'sweep' }));
      expect(await piaKicked).toEqual({ orgId: org.id, reason: 'removed' });
      await barrier(olga2);
      expect(olgaSeen.filter((e) => e.event === 'access:revoked')).toHaveLength(1);
    } finally {
      await channel.end();
    }
  });

  it('links again once its listening connection is cut, and asks every node to re-check its sockets', async () => {
    const channel = await listenOnAccessChannel();
    try {
      const asked = channel.heard((message) => message.kind === 'sweep');
      const kicked = nextEvent(mona2, 'access:revoked');
      await removeUnheard(mona);
      const listening = `select pid from pg_stat_activity where application_name = 'taskflow-access' and datname = current_database()`;
      await cluster.db.query(`select pg_terminate_backend(pid) from (${listening}) as listeners`);
      await asked;
      expect(await kicked).toEqual({ orgId: org.id, reason: 'removed' });
      await eventually(async () => expect(await cluster.db.query(listening)).toHaveLength(2));
    } finally {
      await channel.end();
    }
  });

  it("lets a user added to the org on node 1 hear it on node 2's socket, and takes no admission there of one who is not a member", async () => {
    const heardByKate = recordAll(kate2);
    const heardByNora = recordAll(nora2);
    const heard = (seen: Array<{ event: string; payload: any }>) =>
      seen.filter((e) => e.event === 'org:event' && e.payload.orgId === org.id && e.payload.type === 'project.created');
    // A signed admission of nora, who is no member, as a copy that came late after a removal would be: checked in the database, and refused.
    await cluster.db.query(`select pg_notify('taskflow_access', $1)`, [
      signedAccessMessage(SECRET, { kind: 'admit', order: { room: `user:${nora.user.id}`, admitTo: org.id } }),
    ]);
    await addMember(n1(), org, kate, 'member');
    // The admission travels on its own: a project made on node 2 after it has come reaches her there.
    await eventually(async () => {
      const made = await api(n2(), 'POST', `/orgs/${org.slug}/projects`, { name: `heard by kate ${randomUUID()}` }, alice.token);
      expect(made.status).toBe(201);
      await barrier(kate2);
      expect(heard(heardByKate).length).toBeGreaterThan(0);
    });
    await barrier(nora2);
    expect(heard(heardByNora)).toEqual([]);
  });

  // The last of this block: it brings Redis back.
  it('revokes, once Redis returns, the socket of a member whose kick was lost, who sent nothing since', async () => {
    const ginaSeen = recordAll(gina2);
    // Her removal committed and its kick never left (node 1 may queue a kick while Redis is away
    // and send it once Redis returns: this one is lost for sure).
    await cluster.db.query('delete from memberships where user_id = $1 and org_id = $2', [gina.user.id, org.id]);
    // Node 2 never heard of it: its board events still reach her idle socket there.
    await changeSeenBy(carol2, boardA, 'made on node 2 while gina’s kick could not travel', gina2);

    const revoked = nextEvent(gina2, 'access:revoked', () => true, 20_000);
    cluster.redis = await startRedis(cluster.redis.port);
    expect(await revoked).toEqual({ orgId: org.id, reason: 'removed' });
    const revokedAt = ginaSeen.length;
    await changeSeenBy(carol2, boardA, 'made on node 2 after the sweep', erin2);
    await barrier(gina2);
    const leaked = ofOrg(ginaSeen.slice(revokedAt), org.id, [boardA.project.id, boardB.project.id]);
    expect(leaked.map((e) => `${e.event} ${e.payload?.type ?? ''}`)).toEqual([]);
  }, 30_000);
});

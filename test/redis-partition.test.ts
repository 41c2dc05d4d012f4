import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnJson, ProjectJson } from '../shared/wire.js';
import { addMember, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { admin, createTestDatabase, type TestDatabase } from './support/database.js';
import { httpStatus, type RedisProcess, startRedis } from './support/processes.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, nextEvent, ok } from './support/sockets.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

// Only node 1's link to Redis breaks; node 2 sees no outage at all. What node 1 sent meanwhile
// (a kick, say) never reached node 2, so when node 1's link returns, node 2 must re-check too.
let db: TestDatabase;
let redis: RedisProcess;
let proxy: TcpProxy;
let node1: RunningServer;
let node2: RunningServer;
let alice: TestUser;
let gina: TestUser;
let org: TestOrg;
let board: { project: ProjectJson; columns: ColumnJson[] };
/** What node 1 logged, from debug lines up, and node 2, from warnings up. */
const node1Log: string[] = [];
const node2Log: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await startRedis();
  proxy = await startTcpProxy(redis.port);
  node1 = await startServer(
    { DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${proxy.port}`, LOG_LEVEL: 'debug' },
    { logStream: { write: (line) => void node1Log.push(line) } },
  );
  node2 = await startServer(
    { DATABASE_URL: db.url, REDIS_URL: redis.url, LOG_LEVEL: 'warn' },
    { logStream: { write: (line) => void node2Log.push(line) } },
  );
  [alice, gina] = await Promise.all([registerUser(node1.url, 'alice'), registerUser(node1.url, 'gina')]);
  org = await createOrg(node1.url, alice);
  await addMember(node1.url, org, gina, 'member');
  board = await createProject(node1.url, org);
}, 60_000);

afterAll(async () => {
  closeAllSockets();
  await Promise.all([node1?.close(), node2?.close()]);
  await proxy?.close();
  await redis?.stop();
  await db?.drop();
});

const created = (socket: ClientSocket, title: string) =>
  ok(socket, 'task:create', { projectId: board.project.id, columnId: board.columns[0]!.id, title });

describe("one node's link to Redis breaking", () => {
  it('makes every node re-check its sockets once the link returns: a member whose kick was lost hears no more', async () => {
    const alice2 = await connect(node2.url, { token: alice.token });
    const gina2 = await connect(node2.url, { token: gina.token });
    for (const socket of [alice2, gina2]) await ok(socket, 'board:join', { projectId: board.project.id });
    // An org she joins after connecting: her socket is put in its room then.
    const laterOrg = await createOrg(node2.url, alice);
    const told = nextEvent(gina2, 'org:event', (event) => event.orgId === laterOrg.id && event.type === 'member.added');
    await addMember(node2.url, laterOrg, gina, 'member');
    await told;

    await proxy.cut();
    await eventually(async () => expect(await httpStatus(`${node1.url}/readyz`)).toBe(503), 10_000);
    expect(await httpStatus(`${node2.url}/readyz`)).toBe(200);
    // Her removals committed, and their kicks, sent from node 1, are lost.
    await db.query('delete from memberships where user_id = $1', [gina.user.id]);
    await Promise.all([created(alice2, 'while node 1 is cut off'), nextEvent(gina2, 'board:event')]);

    const revoked = [org, laterOrg].map((lost) => nextEvent(gina2, 'access:revoked', (event) => event.orgId === lost.id, 20_000));
    await proxy.restore();
    expect(await Promise.all(revoked)).toEqual([
      { orgId: org.id, reason: 'removed' },
      { orgId: laterOrg.id, reason: 'removed' },
    ]);
    const heard: unknown[] = [];
    gina2.on('board:event', (event) => heard.push(event));
    await created(alice2, 'after the re-check');
    await ok(gina2, 'board:leave', { projectId: board.project.id }); // after the broadcast, on her connection
    expect(heard).toEqual([]);
  }, 40_000);
});

describe('a board event lost while one link to Redis was broken', () => {
  it("reaches the other nodes' viewers once the link returns, without waiting for the board's next change", async () => {
    const hugo = await registerUser(node1.url, 'hugo');
    await addMember(node1.url, org, hugo, 'viewer');
    // Made on the cut-off node and heard on the other, and the other way round.
    const fromCutOff = await createProject(node1.url, org);
    const toCutOff = await createProject(node1.url, org);
    const [alice1, alice2, hugo1, hugo2] = await Promise.all([
      connect(node1.url, { token: alice.token }),
      connect(node2.url, { token: alice.token }),
      connect(node1.url, { token: hugo.token }),
      connect(node2.url, { token: hugo.token }),
    ]);
    await ok(hugo2, 'board:join', { projectId: fromCutOff.project.id });
    await ok(hugo1, 'board:join', { projectId: toCutOff.project.id });
    // Another org's member, on her own board on both nodes: the catch-up re-sends her board's
    // latest event, and nothing of the other org.
    const mallory = await registerUser(node2.url, 'mallory');
    const ownBoard = await createProject(node2.url, await createOrg(node2.url, mallory));
    const mallorys = await Promise.all([connect(node1.url, { token: mallory.token }), connect(node2.url, { token: mallory.token })]);
    const { event: ownLatest } = await ok(mallorys[1]!, 'task:create', {
      projectId: ownBoard.project.id,
      columnId: ownBoard.columns[0]!.id,
      title: 'her own',
    });
    const heardByMallory: Array<{ name: string; payload: unknown }> = [];
    for (const socket of mallorys) {
      await ok(socket, 'board:join', { projectId: ownBoard.project.id });
      socket.onAny((name, payload) => heardByMallory.push({ name, payload }));
    }

    await proxy.cut();
    await eventually(async () => expect(await httpStatus(`${node1.url}/readyz`)).toBe(503), 10_000);
    const createIn = (socket: ClientSocket, { project, columns }: typeof board, title: string) =>
      ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title });
    const sent = await createIn(alice1, fromCutOff, 'sent while cut off');
    const missed = await createIn(alice2, toCutOff, 'sent while the other node was cut off');

    const heard = [
      nextEvent(hugo2, 'board:event', (event) => event.projectId === fromCutOff.project.id, 20_000),
      nextEvent(hugo1, 'board:event', (event) => event.projectId === toCutOff.project.id, 20_000),
    ];
    await proxy.restore();
    const [heardElsewhere, heardOnCutOff] = await Promise.all(heard);
    expect(heardElsewhere).toEqual(sent.event);
    expect(heardOnCutOff).toEqual(missed.event);
    // Each node re-sent her board's event in the same pass as the other org's; a round trip on
    // each socket after it puts anything that pass wrote to her before this point.
    await eventually(() => expect(heardByMallory.filter(({ name }) => name === 'board:event')).toHaveLength(2), 20_000);
    for (const socket of mallorys) await ok(socket, 'board:join', { projectId: ownBoard.project.id, sinceSeq: ownLatest.seq });
    const ownPresence = (heard: { name: string; payload: any }) =>
      heard.name === 'presence:changed' && heard.payload.projectId === ownBoard.project.id;
    expect(heardByMallory.filter((heard) => !ownPresence(heard))).toEqual([
      { name: 'board:event', payload: ownLatest },
      { name: 'board:event', payload: ownLatest },
    ]);
  }, 40_000);

  it("reaches the other nodes' viewers when the node whose link went silent stops before it returns", async () => {
    const silent = await startTcpProxy(redis.port);
    const stopping = await startServer({ DATABASE_URL: db.url, REDIS_URL: `redis://127.0.0.1:${silent.port}` });
    let closing: Promise<void> | undefined;
    try {
      const viewer = await connect(node2.url, { token: alice.token });
      await ok(viewer, 'board:join', { projectId: board.project.id });
      const sender = await connect(stopping.url, { token: alice.token });
      const heard = nextEvent<{ seq: number }>(viewer, 'board:event', (event) => event.seq > 0, 20_000);
      silent.silenceOpen(); // its link to Redis stays open, and carries nothing either way
      const { event } = await created(sender, 'sent into a silent link');
      // A deploy stops it before the link returns: the other nodes are asked through PostgreSQL.
      await (closing = stopping.close());
      expect(await heard).toEqual(event);
    } finally {
      await (closing ?? stopping.close());
      await silent.close();
    }
  }, 40_000);
});

describe('the catch-up after the link returns', () => {
  it("sends a board's latest event to those who were in the org when it happened, not to a newcomer", async () => {
    const secretive = await createProject(node1.url, org);
    const alice2 = await connect(node2.url, { token: alice.token });
    await ok(alice2, 'board:join', { projectId: secretive.project.id });
    const { column } = await ok(alice2, 'column:create', { projectId: secretive.project.id, name: 'Secret: layoffs in March' });
    const { event: deleted } = await ok(alice2, 'column:delete', { columnId: column.id });
    // Invited after the column was deleted: her join's snapshot never had it, and no replay shows it to her.
    const newcomer = await registerUser(node1.url, 'newcomer');
    await addMember(node1.url, org, newcomer, 'member');
    const newcomer2 = await connect(node2.url, { token: newcomer.token });
    await ok(newcomer2, 'board:join', { projectId: secretive.project.id });
    const heardByNewcomer: unknown[] = [];
    newcomer2.on('board:event', (event) => heardByNewcomer.push(event));
    // Alice made it and heard it from her ack: the catch-up sends it to her all the same.
    const resentToAlice = nextEvent(alice2, 'board:event', (event) => event.seq === deleted.seq, 20_000);

    await proxy.cut();
    await eventually(async () => expect(await httpStatus(`${node1.url}/readyz`)).toBe(503), 10_000);
    await proxy.restore();
    expect(await resentToAlice).toEqual(deleted);
    await ok(newcomer2, 'board:leave', { projectId: secretive.project.id }); // after anything that pass sent her
    expect(heardByNewcomer).toEqual([]);
  }, 40_000);
});

describe('the catch-up when the database is away as the link returns', () => {
  it("is tried again until the database answers: the other nodes' viewers get the lost event then", async () => {
    const quiet = await createProject(node1.url, org);
    const ida = await registerUser(node1.url, 'ida');
    await addMember(node1.url, org, ida, 'viewer');
    const [alice1, ida2] = await Promise.all([connect(node1.url, { token: alice.token }), connect(node2.url, { token: ida.token })]);
    await ok(ida2, 'board:join', { projectId: quiet.project.id });

    await proxy.cut();
    await eventually(async () => expect(await httpStatus(`${node1.url}/readyz`)).toBe(503), 10_000);
    const publishing = node1Log.length;
    const sent = await ok(alice1, 'task:create', {
      projectId: quiet.project.id,
      columnId: quiet.columns[0]!.id,
      title: 'sent while cut off',
    });
    // Its publish failed, rather than waiting to go out when the link returns.
    await eventually(() => expect(node1Log.slice(publishing).join('')).toMatch(/"command":"publish".*redis command failed/));
    const refuse = (refused: boolean) => admin(`alter database ${db.name} allow_connections ${!refused}`);
    await refuse(true);
    await admin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${db.name}'`);
    try {
      const heard = nextEvent(ida2, 'board:event', (event) => event.projectId === quiet.project.id, 30_000);
      const tried = node2Log.length;
      await proxy.restore();
      // Node 2 was asked to catch up, and could not read the board.
      await eventually(() => expect(node2Log.slice(tried).join('')).toContain("could not send the boards' latest events"), 20_000);
      await refuse(false);
      expect(await heard).toEqual(sent.event);
    } finally {
      await refuse(false);
    }
  }, 60_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskJson } from '../shared/wire.js';
import { createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, ok, request } from './support/sockets.js';

/** KiB a second each account's sockets may send the node, the least it may be: a burst of 128 KiB, then 64 KiB a second. */
const KIB_PER_SECOND = 64;
const DESCRIPTION = 16_000;

let db: TestDatabase;
let node: RunningServer;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url, SOCKET_READ_LIMIT: String(KIB_PER_SECOND) });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

/** A user with a board of one column, and a card on it for each of `cards`. */
async function boardOf(user: TestUser, cards: number): Promise<{ socket: ClientSocket; tasks: TaskJson[] }> {
  const org = await createOrg(node.url, user);
  const { project, columns } = await createProject(node.url, org);
  const socket = await connect(node.url, { token: user.token });
  const tasks: TaskJson[] = [];
  for (let i = 0; i < cards; i++)
    tasks.push((await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: `card ${i}` })).task);
  return { socket, tasks };
}

/**
 * Sends `count` updates of `task`'s description, each about `DESCRIPTION` bytes, one after the other:
 * each goes when the one before is answered, so each is a read of its own (a node reads on past
 * the limit by what one read of a connection holds). Answers their answers.
 */
async function updatesInTurn(socket: ClientSocket, task: TaskJson, count: number, afterEach: (i: number) => unknown = () => {}) {
  const answers = [];
  for (let i = 0; i < count; i++) {
    answers.push(
      await request(socket, 'task:update', { taskId: task.id, patch: { description: `${i}`.padEnd(DESCRIPTION, '.') } }, 30_000),
    );
    await afterEach(i);
  }
  return answers;
}

describe('the bytes an account sends a node', () => {
  it('are read no faster than SOCKET_READ_LIMIT over all its sockets, WebSocket and long-polling, and every change is answered and kept', async () => {
    const alice = await registerUser(node.url, 'alice');
    const { socket: webSocket, tasks } = await boardOf(alice, 2);
    const polling = await connect(node.url, { token: alice.token }, { transports: ['polling'] });
    const perSocket = 8;

    const started = performance.now();
    const answers = await Promise.all([updatesInTurn(webSocket, tasks[0]!, perSocket), updatesInTurn(polling, tasks[1]!, perSocket)]);
    const seconds = (performance.now() - started) / 1000;

    expect(answers.flat().every((answer) => answer.ok)).toBe(true);
    // A burst of twice the limit, then the limit, each connection reading one message past it.
    const sent = 2 * perSocket * DESCRIPTION;
    const unthrottled = 2 * KIB_PER_SECOND * 1024 + 2 * DESCRIPTION;
    expect(seconds).toBeGreaterThan((sent - unthrottled) / (KIB_PER_SECOND * 1024));
    const snapshot = await ok(webSocket, 'board:join', { projectId: tasks[0]!.projectId });
    for (const sentTo of tasks)
      expect(snapshot.tasks.find((task: TaskJson) => task.id === sentTo.id).description).toBe(`${perSocket - 1}`.padEnd(DESCRIPTION, '.'));
  });

  it("are the account's own: another account's sockets are read at once while one is held", async () => {
    const bob = await registerUser(node.url, 'bob');
    const carol = await registerUser(node.url, 'carol');
    const bobs = await boardOf(bob, 1);
    const carols = await boardOf(carol, 1);

    // 600 KB (refused, too long a description, once read) leave bob owing 7 s of reading: his
    // next update waits for it. Carol's seven of 16 KB are within a burst of her own: were the
    // budget the node's, she would wait as he does.
    const owing = await request(bobs.socket, 'task:update', { taskId: bobs.tasks[0]!.id, patch: { description: ''.padEnd(600_000, '.') } });
    expect(owing.ok).toBe(false);
    const order: string[] = [];
    const held = ok(bobs.socket, 'task:update', { taskId: bobs.tasks[0]!.id, patch: { title: 'held' } }, 30_000).then(() =>
      order.push('bob, held'),
    );
    const started = performance.now();
    await updatesInTurn(carols.socket, carols.tasks[0]!, 7);
    const carolsSeconds = (performance.now() - started) / 1000;
    order.push('carol, 7 times');
    await held;

    expect(order).toEqual(['carol, 7 times', 'bob, held']);
    expect(carolsSeconds).toBeLessThan(3.5); // half what bob owes: behind him, she would wait 7 s at least
  });

  it.each([['WebSocket', 'websocket'] as const, ['long-polling', 'polling'] as const])(
    'are counted a packet at a time too, so that a flood of empty packets over %s is held as bytes are',
    async (_, transport) => {
      const dora = await registerUser(node.url, 'dora');
      const { socket: board, tasks } = await boardOf(dora, 1);
      board.close();
      const socket = await connect(node.url, { token: dora.token }, { transports: [transport] });
      // 3,000 noops: 3,000 packets of no data, about 3 KB on the wire, 192 KB as counted: a burst,
      // and a second's worth more (0.93 s), before what comes after them is read. The node may read
      // on past them in what it has read already (the leave, here): the update, sent once the leave
      // is answered, is not.
      const engine = socket.io.engine as unknown as { _sendPacket(type: string): void };
      const started = performance.now();
      for (let i = 0; i < 3000; i++) engine._sendPacket('noop');
      await ok(socket, 'board:leave', { projectId: tasks[0]!.projectId });
      await ok(socket, 'task:update', { taskId: tasks[0]!.id, patch: { title: 'after the flood' } });
      expect(performance.now() - started).toBeGreaterThan(800);
    },
  );
});

describe('a node stopping', () => {
  it('reads the connections it holds paused again, so that their close handshakes are read, and stops at once', async () => {
    const stopping = await startServer({ DATABASE_URL: db.url, SOCKET_READ_LIMIT: String(KIB_PER_SECOND) });
    const erin = await registerUser(stopping.url, 'erin');
    const org = await createOrg(stopping.url, erin);
    const { project } = await createProject(stopping.url, org);
    // Three sockets, each sending an event of 1 MB (refused, too long a name, once read): the
    // account owes 40 s of reading, and what each sends next waits unread.
    const sockets = await Promise.all([1, 2, 3].map(() => connect(stopping.url, { token: erin.token })));
    const big = (socket: ClientSocket) =>
      request(socket, 'column:create', { projectId: project.id, name: ''.padEnd(1_000_000, '.') }, 30_000);
    await Promise.all(sockets.map(big));
    const unread = sockets.map((socket) => big(socket).catch(() => undefined)); // answered as the node stops, or cut off
    const disconnected = sockets.map((socket) => new Promise((resolve) => socket.once('disconnect', resolve)));

    const started = performance.now();
    await stopping.close();
    expect(performance.now() - started).toBeLessThan(20_000); // it waited 30 s for the close handshakes, and gave up
    await Promise.all([...disconnected, ...unread]);
  });
});

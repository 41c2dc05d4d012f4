import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { ColumnJson, ProjectJson } from '../shared/wire.js';
import { createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, recordBoardEvents } from './support/sockets.js';

// A board's changes take two paths: a plain task update is one message to PostgreSQL, a move goes
// through the ORM. PostgreSQL gives them their `seq` one after another; one node must also send
// them out in that order, so that a client sees no gap that is not one.
let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url, SOCKET_RATE_LIMIT: '0' }); // one user sends it all
  org = await createOrg(node.url, await registerUser(node.url, 'alice'));
  ({ project, columns } = await createProject(node.url, org));
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

describe("a board's events on one node", () => {
  // A plain update's message commits in PostgreSQL before the node reads its answer: on a loaded
  // machine a move that took the next seq meanwhile could commit and go out first (94, 96, 95).
  // `lateMs` has each answer read that much later, as such a machine would, so that it does.
  const cases = [
    { lateMs: 0, when: '' },
    { lateMs: 30, when: ', plain updates answered late' },
  ];
  for (const { lateMs, when } of cases)
    it(`reach an onlooker in seq order while moves and plain updates of the board interleave${when}`, async () => {
      if (lateMs > 0) {
        const queue = node.server.ctx.boardQueue;
        const run = queue.run.bind(queue);
        queue.run = (...args) => run(...args).then(async (rows) => (await sleep(lateMs), rows));
        onTestFinished(() => {
          queue.run = run;
        });
      }

      // Movers take the general path, editors the one-message path; each works on a task of its own.
      const [movers, editors] = [2, 4];
      const sockets = await Promise.all(Array.from({ length: movers + editors + 1 }, () => connect(node.url, { token: org.owner.token })));
      for (const socket of sockets) await ok(socket, 'board:join', { projectId: project.id });
      const onlooker = sockets.pop()!;
      const tasks: string[] = [];
      for (const [i] of sockets.entries())
        tasks.push((await ok(onlooker, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: `task ${i}` })).task.id);
      const seen = recordBoardEvents(onlooker);

      const rounds = 150;
      const work = (i: number, socket: ClientSocket) => async () => {
        for (let round = 0; round < rounds; round += 1) {
          if (i < movers) await ok(socket, 'task:move', { taskId: tasks[i], columnId: columns[(round + 1) % columns.length]!.id });
          else await ok(socket, 'task:update', { taskId: tasks[i], patch: { title: `task ${i}, round ${round}` } });
        }
      };
      await Promise.all(sockets.map((socket, i) => work(i, socket)()));
      await eventually(() => expect(seen).toHaveLength(sockets.length * rounds));

      const seqs = seen.map((event) => event.seq);
      const first = seqs[0]!;
      expect(seqs).toEqual(seqs.map((_, i) => first + i));
      expect(new Set(seen.map((event) => event.type))).toEqual(new Set(['task.moved', 'task.updated']));
    }, 60_000);
});

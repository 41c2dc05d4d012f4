import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  node = await startServer({ DATABASE_URL: db.url });
  org = await createOrg(node.url, await registerUser(node.url, 'alice'));
  ({ project, columns } = await createProject(node.url, org));
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

describe("a board's events on one node", () => {
  it('reach an onlooker in seq order while moves and plain updates of the board interleave', async () => {
    const [mover, editor, onlooker] = await Promise.all([1, 2, 3].map(() => connect(node.url, { token: org.owner.token })));
    for (const socket of [mover, editor, onlooker] as ClientSocket[]) await ok(socket, 'board:join', { projectId: project.id });
    const create = async (title: string) =>
      (await ok(mover!, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title })).task.id as string;
    const [moved, edited] = [await create('moved'), await create('edited')];
    const seen = recordBoardEvents(onlooker!);

    const rounds = 400;
    await Promise.all([
      (async () => {
        for (let i = 0; i < rounds; i += 1)
          await ok(mover!, 'task:move', { taskId: moved, columnId: columns[(i + 1) % columns.length]!.id });
      })(),
      (async () => {
        for (let i = 0; i < rounds; i += 1) await ok(editor!, 'task:update', { taskId: edited, patch: { title: `edited ${i}` } });
      })(),
    ]);
    await eventually(() => expect(seen).toHaveLength(2 * rounds));

    const seqs = seen.map((event) => event.seq);
    const first = seqs[0]!;
    expect(seqs).toEqual(seqs.map((_, i) => first + i));
    // Both paths took part, interleaved.
    expect(new Set(seen.slice(0, rounds).map((event) => event.type))).toEqual(new Set(['task.moved', 'task.updated']));
  }, 60_000);
});

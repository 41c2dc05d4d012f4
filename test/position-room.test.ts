import { generateKeyBetween } from 'fractional-indexing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnJson, ProjectJson } from '../shared/wire.js';
import { createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, ok, request } from './support/sockets.js';

// Positions are fractional keys: each task placed into the same gap halves it, and the keys grow.
// A bot that keeps swapping two tasks behind a third runs out of room after a thousand or so
// moves; it must then be told so, with nothing written, not get INTERNAL.
let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];
let socket: ClientSocket;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  org = await createOrg(node.url, await registerUser(node.url, 'alice'));
  ({ project, columns } = await createProject(node.url, org));
  socket = await connect(node.url, { token: org.owner.token });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

const boardSeq = async () => (await db.query<{ seq: number }>('select seq from projects where id = $1', [project.id]))[0]!.seq;

describe('a place in a column with no room left', () => {
  it('refuses the move with VALIDATION_FAILED, writes nothing, and has room again once a neighbour moves away', async () => {
    const columnId = columns[0]!.id;
    const create = async (title: string) => (await ok(socket, 'task:create', { projectId: project.id, columnId, title })).task.id as string;
    const [anchor, first, second] = [await create('anchor'), await create('first'), await create('second')];

    // Where a thousand moves back and forth would have left the two: each placed between the
    // anchor and the one moved before it. The last fifty moves are made for real.
    const [{ position: anchorKey }] = await db.query<{ position: string }>('select position from tasks where id = $1', [anchor]);
    const keys = [(await db.query<{ position: string }>('select position from tasks where id = $1', [second]))[0]!.position];
    while (keys.at(-1)!.length < 190) keys.push(generateKeyBetween(anchorKey!, keys.at(-1)!));
    await db.query('update tasks set position = $2 where id = $1', [first, keys.at(-2)]);
    await db.query('update tasks set position = $2 where id = $1', [second, keys.at(-1)]);

    let refusal: { code: string; message: string } | undefined;
    let moves = 0;
    for (; moves < 200 && !refusal; moves += 1) {
      const answer = await request(socket, 'task:move', { taskId: moves % 2 ? second : first, columnId, afterId: anchor });
      if (!answer.ok) refusal = answer.error;
    }
    expect(keys.length).toBeGreaterThan(1000);
    expect(refusal).toMatchObject({ code: 'VALIDATION_FAILED', message: expect.stringContaining('no room') });
    expect(moves).toBeGreaterThan(10);

    const seq = await boardSeq();
    const positions = async () => db.query('select id, position, version from tasks where column_id = $1 order by id', [columnId]);
    const before = await positions();
    expect(await request(socket, 'task:move', { taskId: moves % 2 ? first : second, columnId, afterId: anchor })).toMatchObject({
      ok: false,
      error: { code: 'VALIDATION_FAILED' },
    });
    expect(await boardSeq()).toBe(seq);
    expect(await positions()).toEqual(before);

    // The two go to another column: the place after the anchor is wide again.
    for (const taskId of [first, second]) await ok(socket, 'task:move', { taskId, columnId: columns[1]!.id });
    const moved = await ok(socket, 'task:move', { taskId: first, columnId, afterId: anchor });
    expect(moved.task.position.length).toBeLessThan(200);
  });
});

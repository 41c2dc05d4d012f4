import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, ok } from './support/sockets.js';

// A bot on a plain socket sends its changes without waiting for each answer. Changes without a
// `baseVersion` are applied as they come, last writer wins (DESIGN §7): the change it sent last
// must be the one that stands, and the board's events must follow the order it sent them, whichever
// path each change takes (a plain update is one message to PostgreSQL, a move goes through the ORM)
// and whether or not the node has looked the task up before.
const ROUNDS = 12;

let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let project: ProjectJson;
let columns: ColumnJson[];
let bot: ClientSocket;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  org = await createOrg(node.url, await registerUser(node.url, 'alice'));
  ({ project, columns } = await createProject(node.url, org));
  bot = await connect(node.url, { token: org.owner.token });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

/** Sends every change at once, without waiting for an answer; the answers, in the order sent. */
function sendAll(changes: Array<[string, unknown]>): Promise<any[]> {
  return Promise.all(changes.map(([event, payload]) => ok(bot, event, payload)));
}

/** Tasks the node has not looked up yet, made over another socket. */
async function freshTasks(n: number): Promise<TaskJson[]> {
  const maker = await connect(node.url, { token: org.owner.token });
  const made = [];
  for (let i = 0; i < n; i += 1)
    made.push((await ok(maker, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: `fresh ${i}` })).task);
  maker.close();
  return made;
}

async function taskRow(id: string): Promise<{ column_id: string; title: string }> {
  const [row] = await db.query<{ column_id: string; title: string }>('select column_id, title from tasks where id = $1', [id]);
  return row!;
}

describe("one socket's changes sent without waiting for their answers", () => {
  it('are applied in the order sent: two moves of a task leave it where the second put it', async () => {
    for (const task of await freshTasks(ROUNDS)) {
      const answers = await sendAll([
        ['task:move', { taskId: task.id, columnId: columns[1]!.id }],
        ['task:move', { taskId: task.id, columnId: columns[2]!.id }],
      ]);
      expect(answers.map((answer) => answer.event.seq)).toEqual([answers[0].event.seq, answers[0].event.seq + 1]);
      expect((await taskRow(task.id)).column_id).toBe(columns[2]!.id);
    }
  });

  it('are applied in the order sent across the two paths: updates and moves of a task, interleaved', async () => {
    for (const task of await freshTasks(ROUNDS)) {
      const answers = await sendAll([
        ['task:update', { taskId: task.id, patch: { title: 'first' } }],
        ['task:move', { taskId: task.id, columnId: columns[1]!.id }],
        ['task:update', { taskId: task.id, patch: { title: 'second' } }],
        ['task:move', { taskId: task.id, columnId: columns[2]!.id }],
        ['task:update', { taskId: task.id, patch: { title: 'last' } }],
      ]);
      const seqs = answers.map((answer) => answer.event.seq);
      expect(seqs).toEqual(seqs.map((_, i) => seqs[0] + i));
      expect(await taskRow(task.id)).toEqual({ column_id: columns[2]!.id, title: 'last' });
    }
  });

  it('are applied in the order sent across tasks: a move next to a task, then a move of that task', async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      const [x, y] = await freshTasks(2);
      // X goes right after Y in the second column, then Y goes to that column's end: Y ends last.
      await ok(bot, 'task:move', { taskId: y!.id, columnId: columns[1]!.id });
      const answers = await sendAll([
        ['task:move', { taskId: x!.id, columnId: columns[1]!.id, afterId: y!.id }],
        ['task:move', { taskId: y!.id, columnId: columns[1]!.id }],
      ]);
      expect(answers[1].event.seq).toBe(answers[0].event.seq + 1);
      const order = await db.query<{ id: string }>(`select id from tasks where column_id = $1 order by position collate "C"`, [
        columns[1]!.id,
      ]);
      expect(order.map((row) => row.id).slice(-2)).toEqual([x!.id, y!.id]);
    }
  });

  it('keep their order when the board is new to the node too: creates land at the column end in the order sent', async () => {
    const { project: board, columns: boardColumns } = await createProject(node.url, org);
    const titles = Array.from({ length: 8 }, (_, i) => `card ${i}`);
    await sendAll(titles.map((title) => ['task:create', { projectId: board.id, columnId: boardColumns[0]!.id, title }]));
    const rows = await db.query<{ title: string }>(`select title from tasks where column_id = $1 order by position collate "C"`, [
      boardColumns[0]!.id,
    ]);
    expect(rows.map((row) => row.title)).toEqual(titles);
  });
});

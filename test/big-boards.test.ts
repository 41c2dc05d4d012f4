import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BoardEventJson, ColumnJson, ProjectJson, TaskJson } from '../shared/wire.js';
import { createOrg, createProject, registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type ServerProcess, startServerProcess } from './support/processes.js';
import { TEST_JWT_SECRET } from './support/server.js';
import { closeAllSockets, connect, nextEvent, ok } from './support/sockets.js';

// A change carrying megabytes (a column deleted with hundreds of long cards logs every card in
// its event) must cost the node memory in proportion to its size. MikroORM writes each value into
// the SQL text; pg's escaping built a literal one character at a time, about 32 bytes of heap a
// character: 2,000 cards of 20 KB kept the node in its garbage collector for 10 s, every tenant
// on it waiting, and on a node with a bounded heap the change ended the process.
const CARDS = 600;
const DESCRIPTION = 'Steps to reproduce, logs, and the customer\'s "exact" words: \\ '.repeat(320).slice(0, 20_000);
/** A heap that holds the server and a few copies of the 12 MB the change carries, not 30. */
const HEAP_MB = 256;

let db: TestDatabase;
let server: ServerProcess;
let owner: TestUser;
let other: TestUser;
let project: ProjectJson;
let columns: ColumnJson[];
let otherBoard: { project: ProjectJson; columns: ColumnJson[] };

beforeAll(async () => {
  db = await createTestDatabase();
  server = await startServerProcess('big-boards', {
    DATABASE_URL: db.url,
    JWT_SECRET: TEST_JWT_SECRET,
    SOCKET_RATE_LIMIT: '0',
    SOCKET_READ_LIMIT: '0', // the board's 12 MB come from one account
    NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}`,
  });
  [owner, other] = [await registerUser(server.url, 'owner'), await registerUser(server.url, 'other')];
  ({ project, columns } = await createProject(server.url, await createOrg(server.url, owner), 'Big'));
  otherBoard = await createProject(server.url, await createOrg(server.url, other), 'Small');
}, 120_000);

afterAll(async () => {
  closeAllSockets();
  await server?.stop();
  await db?.drop();
});

describe('a board of big cards', () => {
  it('deletes a column of 600 cards of 20,000 characters on a node with a 256 MB heap, answering another tenant meanwhile', async () => {
    const writer = await connect(server.url, { token: owner.token });
    const created: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, lane) => {
        for (let i = lane; i < CARDS; i += 8) {
          const { task } = await ok<{ task: TaskJson }>(writer, 'task:create', {
            projectId: project.id,
            columnId: columns[0]!.id,
            title: `Card ${i}`,
            description: DESCRIPTION,
          });
          created.push(task.id);
        }
      }),
    );
    const viewer = await connect(server.url, { token: owner.token });
    await ok(viewer, 'board:join', { projectId: project.id }, 60_000);
    const heard = nextEvent<BoardEventJson>(viewer, 'board:event', (event) => event.type === 'column.deleted', 60_000);

    const bystander = await connect(server.url, { token: other.token });
    const { task: small } = await ok<{ task: TaskJson }>(bystander, 'task:create', {
      projectId: otherBoard.project.id,
      columnId: otherBoard.columns[0]!.id,
      title: 'Small',
    });
    let deleted = false;
    const deletion = ok(writer, 'column:delete', { columnId: columns[0]!.id, moveTasksTo: columns[1]!.id }, 60_000).finally(() => {
      deleted = true;
    });
    // The other tenant keeps changing its card while the deletion runs, and each change is answered.
    const bystanding = (async () => {
      let answeredMeanwhile = 0;
      for (let i = 0; !deleted; i++) {
        await ok(bystander, 'task:update', { taskId: small.id, patch: { title: `Small ${i}` } }, 60_000);
        if (!deleted) answeredMeanwhile++;
      }
      return answeredMeanwhile;
    })();
    const [{ event }, answeredMeanwhile] = await Promise.all([deletion, bystanding]);
    expect(server.running()).toBe(true);
    expect(answeredMeanwhile, 'changes of the other tenant answered before the deletion was').toBeGreaterThan(0);

    const moved = (event.data as { tasks: TaskJson[] }).tasks;
    expect(moved.map((task) => task.id).sort()).toEqual(created.sort());
    expect(moved.every((task) => task.columnId === columns[1]!.id && task.description === DESCRIPTION)).toBe(true);
    expect(await heard).toEqual(event);
    const [logged] = await db.query<{ cards: number }>(
      `select jsonb_array_length(payload -> 'tasks') as cards from board_events where project_id = $1 and seq = $2`,
      [project.id, event.seq],
    );
    expect(logged!.cards).toBe(CARDS);
  }, 180_000);
});

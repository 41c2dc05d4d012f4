import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectJson } from '../shared/wire.js';
import { createOrg, createProject, registerUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, ok } from './support/sockets.js';

/** Longer than the pool lets a connection above its minimum sit idle (knex's 30 s). */
const QUIET_SPELL_MS = 32_000;

let db: TestDatabase;
let node: RunningServer;
let socket: ClientSocket;
let project: ProjectJson;
let columnId: string;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  const alice = await registerUser(node.url, 'alice');
  const org = await createOrg(node.url, alice);
  const board = await createProject(node.url, org);
  project = board.project;
  columnId = board.columns[0]!.id;
  socket = await connect(node.url, { token: alice.token });
});

afterAll(async () => {
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

/** The server's sessions on its database (it names itself `taskflow`), and when each began. */
const serverSessions = () =>
  db.query<{ pid: number; started: Date }>(
    `select pid, backend_start as started from pg_stat_activity where datname = $1 and application_name = 'taskflow'`,
    [db.name],
  );

describe('the connection pool', () => {
  it(
    'serves the first change after a quiet spell on a connection it kept, not a new one',
    async () => {
      // A new connection costs the change that waits for it a new PostgreSQL backend, its caches
      // and the statements prepared again: about 12 ms on the development machine, against 3–4.
      const { task } = await ok(socket, 'task:create', { projectId: project.id, columnId, title: 'before the pause' });
      expect((await serverSessions()).length).toBeGreaterThan(0);
      await sleep(QUIET_SPELL_MS);
      const quietUntil = new Date();
      await ok(socket, 'task:update', { taskId: task.id, patch: { title: 'after the pause' } });
      const sessions = await serverSessions();
      expect(sessions.length).toBeGreaterThan(0);
      expect(sessions.filter((session) => session.started >= quietUntil)).toEqual([]);
    },
    QUIET_SPELL_MS + 30_000,
  );
});

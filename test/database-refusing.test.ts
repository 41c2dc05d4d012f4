import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectJson } from '../shared/wire.js';
import { api, createOrg, createProject, registerUser, type TestOrg } from './support/api.js';
import { admin, createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';
import { type ClientSocket, closeAllSockets, connect, eventually, ok, request } from './support/sockets.js';

// A database that refuses connections for a while (ALLOW_CONNECTIONS false, as an operator does
// before maintenance), its open connections ended: what the server answers is UNAVAILABLE, the
// code for "try again", not INTERNAL, the code for a bug (DESIGN §7).
let db: TestDatabase;
let node: RunningServer;
let org: TestOrg;
let project: ProjectJson;
let socket: ClientSocket;
let taskId: string;

const refuseConnections = async (refuse: boolean) => {
  await admin(`alter database ${db.name} allow_connections ${refuse ? 'false' : 'true'}`);
  if (refuse) await admin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${db.name}'`);
};

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
  org = await createOrg(node.url, await registerUser(node.url, 'alice'));
  let columns;
  ({ project, columns } = await createProject(node.url, org));
  socket = await connect(node.url, { token: org.owner.token });
  await ok(socket, 'board:join', { projectId: project.id });
  taskId = (await ok(socket, 'task:create', { projectId: project.id, columnId: columns[0]!.id, title: 'Before' })).task.id;
});

afterAll(async () => {
  await refuseConnections(false);
  closeAllSockets();
  await node?.close();
  await db?.drop();
});

describe('a database that refuses connections', () => {
  it('is UNAVAILABLE over HTTP and sockets, and served again once it takes them', async () => {
    await refuseConnections(true);
    try {
      const read = await api(node.url, 'GET', `/orgs/${org.slug}/projects`, undefined, org.owner.token);
      expect(read).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
      for (const payload of [
        { taskId, patch: { title: 'One message' } },
        { taskId, patch: { labelIds: [] as string[], title: 'General path' } },
      ]) {
        expect(await request(socket, 'task:update', payload)).toMatchObject({ ok: false, error: { code: 'UNAVAILABLE' } });
      }
    } finally {
      await refuseConnections(false);
    }
    await eventually(async () => expect((await fetch(`${node.url}/readyz`)).status).toBe(200), 10_000);
    expect((await ok(socket, 'task:update', { taskId, patch: { title: 'After' } })).task.title).toBe('After');
  });
});

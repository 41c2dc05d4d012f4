import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TaskFlowClient } from '../client/index.js';
import { registerUser, type TestUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { closeAllClients, openClient } from './support/sdk.js';
import { type RunningServer, startServer } from './support/server.js';
import { eventually } from './support/sockets.js';

// A stopped node's clients must not all land on one node in the same half second: that stalled
// the node they landed on for everyone there, and left the whole fleet on it.
let db: TestDatabase;
let nodes: RunningServer[];
let user: TestUser;

beforeAll(async () => {
  db = await createTestDatabase();
  nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startServer({ DATABASE_URL: db.url }));
  user = await registerUser(nodes[0]!.url, 'fleet');
});

afterAll(async () => {
  closeAllClients();
  for (const node of nodes) await node.close();
  await db?.drop();
});

describe("the SDK's clients of a node that stops", () => {
  it('come back over the other nodes at random, spread over up to reconnectSpreadMs', async () => {
    const [stopping, ...others] = nodes as [RunningServer, RunningServer, RunningServer];
    const arrivals: Array<{ node: number; at: number }> = [];
    others.forEach((node, i) => node.server.io.on('connection', () => arrivals.push({ node: i, at: Date.now() })));
    const clients: TaskFlowClient[] = [];
    for (let i = 0; i < 20; i++) {
      const { client } = openClient(
        nodes.map((node) => node.url),
        { token: user.token },
        { reconnectSpreadMs: 2000 },
      );
      await client.connect();
      clients.push(client);
    }
    expect(arrivals).toEqual([]);

    await stopping.close();

    await eventually(() => expect(arrivals).toHaveLength(20), 15_000);
    await eventually(() => expect(clients.map((client) => client.state)).toEqual(clients.map(() => 'live')));
    // Before, each went to the next node in its list within 100-200 ms: all twenty to the same one, at once.
    expect(new Set(arrivals.map((arrival) => arrival.node))).toEqual(new Set([0, 1]));
    const times = arrivals.map((arrival) => arrival.at);
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThan(1000);
  });
});

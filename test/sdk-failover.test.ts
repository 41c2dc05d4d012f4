import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import type { BoardState, ConnectionState, TaskFlowClient } from '../client/index.js';
import type { ProjectJson } from '../shared/wire.js';
import { addMember, createOrg, createProject, registerUser, type TestOrg, type TestUser } from './support/api.js';
import { CONCURRENCY_REFUSALS, closeAllClients, expectConverged, type OpRecord, openClient, runWorkload, seeded } from './support/sdk.js';
import { eventually } from './support/sockets.js';
import { useTwoNodes } from './support/two-nodes.js';

// Two `server/main.ts` processes on one database and a Redis of the test's own. Node 1 is killed
// (SIGKILL: no goodbye, no flushing) while half of the clients have mutations in flight on it.
const CLIENTS = 6;
const OPS = 30;

const cluster = useTwoNodes();
let org: TestOrg;
let users: TestUser[];
let project: ProjectJson;

beforeAll(async () => {
  const { node1, node2 } = cluster;
  const owner = await registerUser(node1.url, 'owner');
  org = await createOrg(node1.url, owner);
  users = [owner];
  for (let i = 1; i < CLIENTS; i++) {
    const user = await registerUser(node2.url, `user${i}`);
    await addMember(node2.url, org, user, 'member');
    users.push(user);
  }
  ({ project } = await createProject(node1.url, org));
});

afterAll(() => closeAllClients());

describe('a node killed under its clients', () => {
  it('loses no acknowledged mutation, doubles no retried one, and every client converges on the other node', async () => {
    const seed = Number(process.env.SDK_SEED ?? Date.now() % 1_000_000);
    onTestFailed(() => console.error(`replay this workload with SDK_SEED=${seed}`));
    const joined: Array<{ name: string; client: TaskFlowClient; board: BoardState; states: ConnectionState[]; onNode1: boolean }> = [];
    for (const [i, user] of users.entries()) {
      const onNode1 = i % 2 === 0;
      const url = onNode1 ? [cluster.node1.url, cluster.node2.url] : [cluster.node2.url, cluster.node1.url];
      const { client, states } = openClient(url, { token: user.token }, { ackTimeoutMs: 3000 });
      await client.connect();
      joined.push({ name: `client ${i}`, client, board: await client.joinBoard(project.id), states, onNode1 });
    }

    const records = joined.map((): OpRecord[] => []);
    const running = Promise.all(
      joined.map(({ client, board }, i) =>
        runWorkload(client, board, { ops: OPS, random: seeded(seed * 31 + i), name: `c${i}`, maxPauseMs: 40, records: records[i] }),
      ),
    );

    // Mid-stream: once a third of the work is acknowledged and node 1's clients have mutations in flight.
    const node1Records = () => records.filter((_, i) => joined[i]!.onNode1).flat();
    await eventually(() => {
      expect(records.flat().filter((r) => r.outcome === 'ok').length).toBeGreaterThanOrEqual(CLIENTS * OPS * 0.3);
      expect(node1Records().filter((r) => !r.settled).length).toBeGreaterThanOrEqual(3);
    }, 20_000);
    const ackedBeforeKill = records.flat().filter((r) => r.outcome === 'ok' && r.event);
    const pendingAtKill = node1Records().filter((r) => !r.settled);
    await cluster.node1.kill();

    const all = (await running).flat();
    expect(all.every((r) => r.settled)).toBe(true);
    expect(
      all.filter((r) => r.outcome !== 'ok' && !CONCURRENCY_REFUSALS.has(r.outcome!)),
      `seed ${seed}`,
    ).toEqual([]);
    // The clients of node 1 noticed, moved to node 2 and caught up.
    for (const { name, states } of joined.filter((j) => j.onNode1))
      expect(states.slice(0, 6), name).toEqual(['connecting', 'resyncing', 'live', 'reconnecting', 'resyncing', 'live']);

    // Every acknowledged change is in the event log under the seq and clientMutationId its ack named.
    const logged = await cluster.db.query<{ seq: number; client_mutation_id: string | null }>(
      'select seq, client_mutation_id from board_events where project_id = $1',
      [project.id],
    );
    const bySeq = new Map(logged.map((row) => [row.seq, row.client_mutation_id]));
    const acked = all.filter((r) => r.outcome === 'ok' && r.event);
    expect(acked.length).toBeGreaterThan(ackedBeforeKill.length);
    for (const record of acked) expect(bySeq.get(record.event!.seq), `seq ${record.event!.seq}`).toBe(record.event!.clientMutationId);
    expect(
      await cluster.db.query(
        `select client_mutation_id, count(*)::int as n from board_events
          where project_id = $1 and client_mutation_id is not null group by 1 having count(*) > 1`,
        [project.id],
      ),
    ).toEqual([]);

    // What was in flight at the kill was answered once node 2 took over, and no create was doubled.
    expect(pendingAtKill.length).toBeGreaterThanOrEqual(3);
    expect(pendingAtKill.every((r) => r.settled)).toBe(true);
    const created = await cluster.db.query<{ title: string; n: number }>(
      `select payload->'task'->>'title' as title, count(*)::int as n from board_events
        where project_id = $1 and type = 'task.created' group by 1`,
      [project.id],
    );
    expect(created.filter((row) => row.n !== 1)).toEqual([]);
    const ackedTitles = all.filter((r) => r.kind === 'create' && r.outcome === 'ok').map((r) => r.title!);
    expect(created.map((row) => row.title).sort()).toEqual(ackedTitles.sort());
    // Titles change only after " ~", so each created task's title keeps its prefix: one row at most.
    expect(
      await cluster.db.query(`select split_part(title, ' ~', 1) as title from tasks where project_id = $1 group by 1 having count(*) > 1`, [
        project.id,
      ]),
    ).toEqual([]);

    await expectConverged(cluster.db, cluster.node2.url, org, project.id, joined);
  }, 60_000);
});

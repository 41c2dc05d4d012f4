import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { executeStatement, type Sql, sql } from '../server/db/sql-script.js';
import type { BoardChangeRequest } from '../server/board/board-change.js';
import { mutationSeen } from '../server/board/event-log.js';
import { noopRecord } from '../server/board/retried-change.js';
import { enterBoardTenant, enterTenant } from '../server/db/tenant.js';
import { TASK_VERSIONS_SINCE } from '../server/tasks/task-history.js';
import { plainTaskUpdate } from '../server/tasks/task-plain-update.js';
import { createOrg, createProject, registerUser } from './support/api.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';
import { type RunningServer, startServer } from './support/server.js';

// The server prepares each statement once per pooled connection, and PostgreSQL keeps the plan it
// made then, until the table's statistics change (an ANALYZE, which a PostgreSQL without
// autovacuum never runs). A plan made while the tasks table was young must not read a board's
// every task to update one of them once the board has grown.
let db: TestDatabase;
let node: RunningServer;

beforeAll(async () => {
  db = await createTestDatabase();
  node = await startServer({ DATABASE_URL: db.url });
});

afterAll(async () => {
  await node?.close();
  await db?.drop();
});

type PlanNode = Record<string, any> & { Plans?: PlanNode[] };

/** The plan's scan of `relation`, wherever it sits. */
function scanOf(plan: PlanNode, relation: string): PlanNode | undefined {
  if (plan['Relation Name'] === relation && String(plan['Node Type']).includes('Scan')) return plan;
  for (const child of plan.Plans ?? []) {
    const found = scanOf(child, relation);
    if (found) return found;
  }
  return undefined;
}

/**
 * `shape` prepared on a connection of its own and kept as the generic plan, as a pooled connection
 * of the server keeps it; `run` executes a statement of that shape, as the server sends it, in a
 * transaction that `enter` opens and that is rolled back.
 */
async function preparedGeneric(shape: Sql, enter: Sql) {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('set plan_cache_mode = force_generic_plan');
    await client.query(`prepare planned as ${shape.parameters().text}`);
  } catch (error) {
    await client.end();
    throw error;
  }
  return {
    run: async (statement: Sql, explain = '') => {
      await client.query(`begin; ${enter.text}`);
      try {
        return (await client.query(`${explain} ${executeStatement('planned', statement)}`)).rows;
      } finally {
        await client.query('rollback');
      }
    },
    close: () => client.end(),
  };
}

describe('a task update, planned while the tasks table was young', () => {
  it('reads the task by its id once its board holds a thousand tasks', async () => {
    const org = await createOrg(node.url, await registerUser(node.url, 'alice'));
    const { project, columns } = await createProject(node.url, org);
    const insertTasks = (from: number, to: number) =>
      db.query(
        `insert into tasks (id, created_at, updated_at, org_id, project_id, column_id, title, position)
         select gen_random_uuid(), now(), now(), $1, $2, $3, 'task ' || n, lpad(n::text, 8, '0') from generate_series($4::int, $5::int) n`,
        [org.id, project.id, columns[0]!.id, from, to],
      );
    await insertTasks(1, 3);
    const [{ id: taskId }] = await db.query<{ id: string }>('select id from tasks where project_id = $1 limit 1', [project.id]);
    const update = plainTaskUpdate({ orgId: org.id, taskId }, { title: 'first' }, undefined)!.statement(project.id, sql`true`);
    const taskUpdate = await preparedGeneric(update, enterTenant(org.id));
    try {
      expect(await taskUpdate.run(update)).toHaveLength(1); // planned now, on a board of three tasks
      await insertTasks(4, 1000);
      const [explained] = await taskUpdate.run(update, 'explain (analyze, buffers, format json)');
      const { Plan: plan } = explained['QUERY PLAN'][0];
      expect(plan['Actual Rows']).toBe(1);
      // The rows the scan of tasks read and threw away: none, where a scan by project read the board's thousand.
      const scan = scanOf(plan, 'tasks');
      expect(scan?.['Actual Rows']).toBe(1);
      expect(scan?.['Rows Removed by Filter'] ?? 0).toBe(0);
    } finally {
      await taskUpdate.close();
    }
  });
});

describe('a quick change, planned while the event log was young', () => {
  it("checks its clientMutationId by the log's index once the board holds thousands of events", async () => {
    const org = await createOrg(node.url, await registerUser(node.url, 'bot'));
    const { project, columns } = await createProject(node.url, org);
    const [{ id: taskId }] = await db.query<{ id: string }>(
      `insert into tasks (id, created_at, updated_at, org_id, project_id, column_id, title, position)
       values (gen_random_uuid(), now(), now(), $1, $2, $3, 'often changed', 'a') returning id`,
      [org.id, project.id, columns[0]!.id],
    );
    // As the board's message runs it (`enterBoardTenant`): the update only if no event of the board has the change's id.
    const change = (id: string) =>
      plainTaskUpdate({ orgId: org.id, taskId: taskId! }, { title: id }, undefined)!.statement(
        project.id,
        sql`not exists (${mutationSeen(project.id, id)})`,
      );
    const quickChange = await preparedGeneric(change('first'), enterBoardTenant(org.id));
    try {
      const logEvents = (from: number, to: number) =>
        db.query(
          `insert into board_events (id, created_at, org_id, project_id, seq, type, actor, payload, client_mutation_id)
           select gen_random_uuid(), now(), $1, $2, n, 'task.updated', '{}', '{}', 'change ' || n from generate_series($3::int, $4::int) n`,
          [org.id, project.id, from, to],
        );
      await logEvents(1, 20);
      await db.query('vacuum board_events'); // a young log, as PostgreSQL knows it
      expect(await quickChange.run(change('planned-on-a-young-log'))).toHaveLength(1);
      await logEvents(21, 20_000);
      const [explained] = await quickChange.run(change('change 20001'), 'explain (analyze, format json)');
      const scan = scanOf(explained['QUERY PLAN'][0].Plan, 'board_events');
      expect(scan).toBeDefined();
      expect(scan?.['Rows Removed by Filter'] ?? 0).toBe(0); // a plan that scans the table reads all 20,000
    } finally {
      await quickChange.close();
    }
  });
});

describe("a change that changed nothing, on a board with a day's no-ops", () => {
  it('drops the expired records of its board without reading the live ones', async () => {
    const owner = await registerUser(node.url, 'bot-owner');
    const org = await createOrg(node.url, owner);
    const { project } = await createProject(node.url, org);
    const insertNoops = (count: number, age: string) =>
      db.query(
        `insert into board_noop_mutations (id, created_at, org_id, project_id, client_mutation_id, type, answer)
         select gen_random_uuid(), now() - $3::interval, $1, $2, gen_random_uuid()::text, 'task.updated', '{}' from generate_series(1, $4::int)`,
        [org.id, project.id, age, count],
      );
    await insertNoops(20_000, '1 hour'); // a bot that sends the same values again and again
    await insertNoops(5, '2 days');
    await db.query('analyze board_noop_mutations');
    const request = {
      principal: { kind: 'user', userId: owner.user.id, name: 'Owner', isSuperAdmin: false, sessionVersion: 0 },
      target: { orgId: org.id },
      type: 'task.updated',
      clientMutationId: 'unchanged-again',
    } as unknown as BoardChangeRequest;
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`begin; ${enterTenant(org.id).text}`);
      const [explained] = (await client.query(`explain (analyze, format json) ${noopRecord(request, project.id, { id: 'task' }).text}`))
        .rows;
      await client.query('rollback');
      const scan = scanOf(explained['QUERY PLAN'][0].Plan, 'board_noop_mutations');
      expect(scan?.['Actual Rows']).toBe(5);
      expect(scan?.['Rows Removed by Filter'] ?? 0).toBe(0); // through the whole board's records, 20,000
    } finally {
      await client.end();
    }
  });
});

describe('a change with a stale baseVersion, on a board whose log is full', () => {
  it("reads the task's versions from the newest event back, not the whole log", async () => {
    const owner = await registerUser(node.url, 'merger');
    const org = await createOrg(node.url, owner);
    const { project } = await createProject(node.url, org);
    const taskId = '00000000-0000-4000-8000-000000000001';
    // 15,000 changes of other tasks, then versions 2 and 3 of this one, then 50 more of others.
    const logEvents = (from: number, to: number, task: string | null) =>
      db.query(
        `insert into board_events (id, created_at, org_id, project_id, seq, type, actor, payload)
         select gen_random_uuid(), now(), $1, $2, n, 'task.updated', '{"kind": "user", "id": "someone"}',
                json_build_object('task', json_build_object('id', coalesce($5, gen_random_uuid()::text), 'version', n - $3 + 2),
                                  'changed', '["title"]'::json)
           from generate_series($3::int, $4::int) n`,
        [org.id, project.id, from, to, task],
      );
    await logEvents(1, 15_000, null);
    await logEvents(15_001, 15_002, taskId);
    await logEvents(15_003, 15_052, null);
    await db.query('analyze board_events');
    let n = 0;
    const text = TASK_VERSIONS_SINCE.replaceAll('?', () => `$${++n}`);
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query(`begin; ${enterTenant(org.id).text}`);
      const args = ['user', owner.user.id, project.id, taskId, 1, 2];
      expect((await client.query(text, args)).rows).toEqual([
        { changed: ['title'], mine: false },
        { changed: ['title'], mine: false },
      ]);
      const [explained] = (await client.query(`explain (analyze, format json) ${text}`, args)).rows;
      await client.query('rollback');
      const scan = scanOf(explained['QUERY PLAN'][0].Plan, 'board_events');
      expect(scan?.['Actual Rows']).toBeLessThan(100); // the 52 newest, where the whole log is 15,052
    } finally {
      await client.end();
    }
  });
});

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../server/db/sql-script.js';
import { enterTenant } from '../server/db/tenant.js';
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
    const update = (title: string) => plainTaskUpdate({ orgId: org.id, taskId }, { title }, undefined)!.statement(project.id, sql`true`);
    const { text, values } = update('first').parameters();
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await client.query('set plan_cache_mode = force_generic_plan');
      await client.query(`prepare task_update as ${text}`);
      const run = async (explain = '') => {
        await client.query(`begin; ${enterTenant(org.id).text}`);
        try {
          const args = values.map((value) => (value instanceof Date ? `'${value.toISOString()}'` : pg.escapeLiteral(String(value))));
          return (await client.query(`${explain} execute task_update(${args.join(', ')})`)).rows;
        } finally {
          await client.query('rollback');
        }
      };
      expect(await run()).toHaveLength(1); // planned now, on a board of three tasks
      await insertTasks(4, 1000);
      const [explained] = await run('explain (analyze, buffers, format json)');
      const { Plan: plan } = explained['QUERY PLAN'][0];
      expect(plan['Actual Rows']).toBe(1);
      // The rows the scan of tasks read and threw away: none, where a scan by project read the board's thousand.
      const scan = scanOf(plan, 'tasks');
      expect(scan?.['Actual Rows']).toBe(1);
      expect(scan?.['Rows Removed by Filter'] ?? 0).toBe(0);
    } finally {
      await client.end();
    }
  });
});

import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { QueryResult } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Membership, Organization, Project, Task } from '../server/db/entities.js';
import { type Orm, openDatabase } from '../server/db/orm.js';
import { inTenant } from '../server/db/tenant.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

/**
 * The database wall of tenant isolation (DESIGN §3): inside a tenant transaction, PostgreSQL
 * row-level security shows and accepts one org's rows only, even to SQL that skips the ORM filter.
 */

interface Tenant {
  orgId: string;
  userId: string;
  projectId: string;
  columnId: string;
  taskIds: string[];
}

const TENANT_TABLES = ['memberships', 'projects', 'board_columns', 'tasks', 'board_events'];

/** Writes one org with a member, a board, a column, two tasks and an event, as the database owner. */
async function seedTenant(orm: Orm, name: string): Promise<Tenant> {
  const run = (sql: string, params: unknown[]) => orm.em.getConnection().execute(sql, params);
  const t: Tenant = {
    orgId: randomUUID(),
    userId: randomUUID(),
    projectId: randomUUID(),
    columnId: randomUUID(),
    taskIds: [randomUUID(), randomUUID()],
  };
  const now = new Date();
  await run('insert into users (id, created_at, email, password_hash, name) values (?, ?, ?, ?, ?)', [
    t.userId,
    now,
    `${name}-${t.userId}@example.test`,
    'x',
    name,
  ]);
  await run('insert into organizations (id, created_at, name, slug) values (?, ?, ?, ?)', [
    t.orgId,
    now,
    `Org ${name}`,
    `${name}-${t.orgId.slice(0, 8)}`,
  ]);
  await run(`insert into memberships (id, created_at, org_id, user_id, role) values (?, ?, ?, ?, 'owner')`, [
    randomUUID(),
    now,
    t.orgId,
    t.userId,
  ]);
  await run('insert into projects (id, created_at, org_id, name, seq) values (?, ?, ?, ?, 1)', [
    t.projectId,
    now,
    t.orgId,
    `${name} board`,
  ]);
  await run(`insert into board_columns (id, created_at, org_id, project_id, name, position) values (?, ?, ?, ?, 'To do', 'a0')`, [
    t.columnId,
    now,
    t.orgId,
    t.projectId,
  ]);
  for (const [i, taskId] of t.taskIds.entries()) {
    await run(
      'insert into tasks (id, created_at, org_id, project_id, column_id, title, position, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?)',
      [taskId, now, t.orgId, t.projectId, t.columnId, `${name} task ${i}`, `a${i}`, now],
    );
  }
  await run(
    `insert into board_events (id, created_at, org_id, project_id, seq, type, actor, payload) values (?, ?, ?, ?, 1, 'task.created', ?, ?)`,
    [
      randomUUID(),
      now,
      t.orgId,
      t.projectId,
      JSON.stringify({ kind: 'user', id: t.userId, name }),
      JSON.stringify({ taskId: t.taskIds[0] }),
    ],
  );
  return t;
}

/** The org ids a raw `select` on `table` returns inside `orgId`'s tenant transaction. */
async function orgIdsSeen(orm: Orm, orgId: string, table: string): Promise<string[]> {
  const column = table === 'organizations' ? 'id' : 'org_id';
  const rows = await inTenant(orm, orgId, (em) => em.execute<Array<{ org_id: string }>>(`select ${column} as org_id from ${table}`));
  return rows.map((row) => row.org_id);
}

/** A raw insert into `tasks` of a row that names `tenant`'s org, project and column. */
function insertTaskOf(em: EntityManager, tenant: Tenant, title: string) {
  return em.execute(
    'insert into tasks (id, created_at, org_id, project_id, column_id, title, position, updated_at) values (?, now(), ?, ?, ?, ?, ?, now())',
    [randomUUID(), tenant.orgId, tenant.projectId, tenant.columnId, title, 'z0'],
  );
}

describe('row-level security on the PostgreSQL server', () => {
  let db: TestDatabase;
  let orm: Orm;
  let close: () => Promise<void>;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    db = await createTestDatabase();
    ({ orm, close } = await openDatabase({ databaseUrl: db.url, dataDir: 'unused' }));
    await orm.migrator.up();
    a = await seedTenant(orm, 'alpha');
    b = await seedTenant(orm, 'bravo');
  });

  afterAll(async () => {
    await close?.();
    await db?.drop();
  });

  const tasksOf = (tenant: Tenant) => db.query('select * from tasks where org_id = $1 order by id', [tenant.orgId]);

  it('shows a raw query inside a tenant only that tenant rows, in every tenant table', async () => {
    for (const table of ['organizations', ...TENANT_TABLES]) {
      for (const tenant of [a, b]) {
        const seen = await orgIdsSeen(orm, tenant.orgId, table);
        const column = table === 'organizations' ? 'id' : 'org_id';
        const [{ n }] = await db.query<{ n: number }>(`select count(*)::int as n from ${table} where ${column} = $1`, [tenant.orgId]);
        expect({ table, seen }).toEqual({ table, seen: Array(n).fill(tenant.orgId) });
        expect(n, table).toBeGreaterThan(0);
      }
    }
    const rows = await inTenant(orm, a.orgId, (em) => em.execute<Array<{ id: string }>>('select id from tasks order by id'));
    expect(rows.map((row) => row.id)).toEqual([...a.taskIds].sort());
  });

  it('shows the ORM with its filter switched off, and a QueryBuilder that never applies it, only the tenant rows', async () => {
    const seen = await inTenant(orm, a.orgId, async (em) => ({
      find: (await em.find(Task, {}, { filters: false })).map((task) => task.id).sort(),
      projects: (await em.find(Project, {}, { filters: false })).map((project) => project.id),
      members: await em.count(Membership, {}, { filters: false }),
      builder: (await em.createQueryBuilder(Task).select('id').execute<Array<{ id: string }>>('all')).map((row) => row.id).sort(),
    }));
    expect(seen).toEqual({ find: [...a.taskIds].sort(), projects: [a.projectId], members: 1, builder: [...a.taskIds].sort() });
  });

  it('refuses, inside A, a new row that names B, raw or through the ORM (WITH CHECK), and moving A row into B', async () => {
    const [beforeA, beforeB] = [await tasksOf(a), await tasksOf(b)];
    await expect(inTenant(orm, a.orgId, (em) => insertTaskOf(em, b, 'planted by raw SQL'))).rejects.toThrow(/row-level security/);
    await expect(
      inTenant(orm, a.orgId, async (em) => {
        em.create(Task, {
          org: em.getReference(Organization, b.orgId),
          project: em.getReference(Project, b.projectId),
          column: b.columnId,
          title: 'planted through the ORM',
          position: 'z1',
          createdBy: null,
          completedAt: null,
        });
        await em.flush();
      }),
    ).rejects.toThrow(/row-level security/);
    await expect(
      inTenant(orm, a.orgId, (em) => em.execute('update tasks set org_id = ? where id = ?', [b.orgId, a.taskIds[0]])),
    ).rejects.toThrow(/row-level security/);
    expect(await tasksOf(a)).toEqual(beforeA);
    expect(await tasksOf(b)).toEqual(beforeB);
    expect(await db.query(`select 1 from tasks where title like 'planted%'`)).toEqual([]);
  });

  it('lets an update or delete of B row by its id, inside A, reach no row', async () => {
    const before = await tasksOf(b);
    const [target] = b.taskIds;
    const affected = await inTenant(orm, a.orgId, async (em) => {
      const rowCount = async (sql: string, params: unknown[]) => (await em.execute<QueryResult>(sql, params, 'run')).affectedRows;
      return {
        update: await rowCount(`update tasks set title = 'defaced' where id = ?`, [target]),
        delete: await rowCount('delete from tasks where id = ?', [target]),
        deleteAll: await rowCount('delete from tasks where org_id = ?', [b.orgId]),
        seq: (await em.execute('update projects set seq = seq + 1 where id = ? returning seq', [b.projectId])).length,
        orm: await em.nativeDelete(Task, { id: target }, { filters: false }),
        org: await rowCount(`update organizations set name = 'owned' where id = ?`, [b.orgId]),
      };
    });
    expect(affected).toEqual({ update: 0, delete: 0, deleteAll: 0, seq: 0, orm: 0, org: 0 });
    expect(await tasksOf(b)).toEqual(before);
    expect(await db.query('select seq from projects where id = $1', [b.projectId])).toEqual([{ seq: 1 }]);
    expect(await db.query('select name from organizations where id = $1', [b.orgId])).toEqual([{ name: 'Org bravo' }]);
  });

  it('makes a fork with no tenant parameter throw instead of reading every org', async () => {
    const em = orm.em.fork();
    await expect(em.find(Task, {})).rejects.toThrow("No arguments provided for filter 'tenant'");
    await expect(em.findOne(Project, a.projectId)).rejects.toThrow("No arguments provided for filter 'tenant'");
    await expect(em.count(Membership, {})).rejects.toThrow("No arguments provided for filter 'tenant'");
  });

  it('runs the tenant transaction as taskflow_app with the org set, and leaves the pooled connection as it found it', async () => {
    const inside = await inTenant(orm, a.orgId, (em) =>
      em.execute<Array<{ role: string; org: string }>>(`select current_user as role, current_setting('app.org_id', true) as org`),
    );
    expect(inside).toEqual([{ role: 'taskflow_app', org: a.orgId }]);
    const owner = (await db.query<{ role: string }>('select current_user as role'))[0]!.role;
    const after = await Promise.all(
      Array.from({ length: 10 }, () =>
        orm.em
          .fork()
          .getConnection()
          .execute<Array<{ role: string; org: string | null }>>(`select current_user as role, current_setting('app.org_id', true) as org`),
      ),
    );
    for (const [row] of after) expect({ role: row!.role, org: row!.org || null }).toEqual({ role: owner, org: null });
  });

  it('gives taskflow_app no way around the policies: no superuser, no BYPASSRLS, owns nothing, every tenant table forced', async () => {
    expect(await db.query(`select rolsuper, rolbypassrls, rolcanlogin from pg_roles where rolname = 'taskflow_app'`)).toEqual([
      { rolsuper: false, rolbypassrls: false, rolcanlogin: false },
    ]);
    expect(
      await db.query(`select relname from pg_class where relowner = (select oid from pg_roles where rolname = 'taskflow_app')`),
    ).toEqual([]);
    const tables = await db.query<{ relname: string; relrowsecurity: boolean; relforcerowsecurity: boolean }>(
      `select relname, relrowsecurity, relforcerowsecurity from pg_class where relname = any($1) and relkind = 'r' order by relname`,
      [['organizations', ...TENANT_TABLES]],
    );
    expect(tables).toEqual(
      [...['organizations', ...TENANT_TABLES]].sort().map((relname) => ({ relname, relrowsecurity: true, relforcerowsecurity: true })),
    );
  });

  it('shows nothing to the application role when no org, or an org that does not exist, is set', async () => {
    const noOrg = await orm.em.fork().transactional(async (em) => {
      await em.execute(`select set_config('role', 'taskflow_app', true)`);
      return em.execute<Array<{ n: number }>>('select count(*)::int as n from tasks');
    });
    expect(noOrg).toEqual([{ n: 0 }]);
    const unknownOrg = await inTenant(orm, randomUUID(), (em) => em.execute<Array<{ n: number }>>('select count(*)::int as n from tasks'));
    expect(unknownOrg).toEqual([{ n: 0 }]);
  });
});

describe('row-level security on the embedded database (PGlite)', () => {
  let dataDir: string;
  let orm: Orm;
  let close: () => Promise<void>;
  let a: Tenant;
  let b: Tenant;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'taskflow-rls-'));
    ({ orm, close } = await openDatabase({ databaseUrl: null, dataDir }));
    await orm.migrator.up();
    a = await seedTenant(orm, 'alpha');
    b = await seedTenant(orm, 'bravo');
  });

  afterAll(async () => {
    await close?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('shows a raw query inside a tenant only that tenant rows, as taskflow_app', async () => {
    for (const table of ['organizations', ...TENANT_TABLES]) {
      expect({ table, seen: [...new Set(await orgIdsSeen(orm, a.orgId, table))] }).toEqual({ table, seen: [a.orgId] });
      expect({ table, seen: [...new Set(await orgIdsSeen(orm, b.orgId, table))] }).toEqual({ table, seen: [b.orgId] });
    }
    const inside = await inTenant(orm, a.orgId, async (em) => ({
      who: await em.execute<Array<{ role: string }>>('select current_user as role'),
      tasks: (await em.execute<Array<{ id: string }>>('select id from tasks order by id')).map((row) => row.id),
    }));
    expect(inside).toEqual({ who: [{ role: 'taskflow_app' }], tasks: [...a.taskIds].sort() });
    const all = await orm.em.getConnection().execute<Array<{ n: number }>>('select count(*)::int as n from tasks');
    expect(all).toEqual([{ n: 4 }]);
  });

  it('refuses, inside A, a row that names B, and reaches none of B rows by id', async () => {
    await expect(inTenant(orm, a.orgId, (em) => insertTaskOf(em, b, 'planted'))).rejects.toThrow(/row-level security/);
    const reached = await inTenant(orm, a.orgId, async (em) => ({
      update: await em.execute(`update tasks set title = 'defaced' where id = ? returning id`, [b.taskIds[0]]),
      delete: await em.execute('delete from tasks where id = ? returning id', [b.taskIds[1]]),
    }));
    expect(reached).toEqual({ update: [], delete: [] });
    const rows = await orm.em
      .getConnection()
      .execute<Array<{ title: string }>>('select title from tasks where org_id = ? order by title', [b.orgId]);
    expect(rows.map((row) => row.title)).toEqual(['bravo task 0', 'bravo task 1']);
  });
});

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationsList } from '../migrations/index.js';
import { ConfigError } from '../server/config.js';
import { migrate } from '../server/db/migrate.js';
import { type Orm, openDatabase } from '../server/db/orm.js';
import { admin, createTestDatabase, holdLock, type TestDatabase } from './support/database.js';

let db: TestDatabase;
let database: { orm: Orm; close: () => Promise<void> } | undefined;

beforeAll(async () => {
  db = await createTestDatabase();
  database = await openDatabase({ databaseUrl: db.url, dataDir: '' });
});

afterAll(async () => {
  await database?.close();
  await db?.drop();
});

describe('migrations', () => {
  it('build exactly the schema the entities describe', async () => {
    const { orm } = database!;
    await orm.migrator.up();
    expect(await orm.migrator.getPendingMigrations()).toEqual([]);
    const drift = (await orm.schema.getUpdateSchemaSQL({ wrap: false })).trim();
    expect(drift, `the entities and the migrations disagree; a new migration needs:\n${drift}`).toBe('');
  });

  it('can be applied to a database that already has them (no-op)', async () => {
    const { orm } = database!;
    expect(await orm.migrator.up()).toEqual([]);
  });
});

describe('nodes started together on a new database', () => {
  let fresh: TestDatabase;
  const opened: Array<{ orm: Orm; close: () => Promise<void> }> = [];

  beforeAll(async () => {
    fresh = await createTestDatabase();
  });

  afterAll(async () => {
    await Promise.all(opened.map((each) => each.close()));
    await fresh?.drop();
  });

  it('migrate one at a time: every node starts, and the schema is built once', async () => {
    for (let i = 0; i < 3; i++) opened.push(await openDatabase({ databaseUrl: fresh.url, dataDir: '' }));
    const started = await Promise.allSettled(opened.map(({ orm }) => migrate(orm, fresh.url)));
    expect(started.filter((each) => each.status === 'rejected')).toEqual([]);
    const applied = await fresh.query<{ name: string }>('select name from mikro_orm_migrations order by id');
    expect(applied.map((row) => row.name)).toEqual(migrationsList.map((migration) => migration.name));
    for (const { orm } of opened) expect(await orm.migrator.getPendingMigrations()).toEqual([]);
  });
});

/**
 * A database of its own for a describe block that migrates it part of the way, seeds what an
 * older build left, and migrates the rest (filled in by its beforeAll).
 */
function useLegacyDatabase(): { db: TestDatabase; orm: Orm } {
  const legacy: Partial<{ db: TestDatabase; orm: Orm }> = {};
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    legacy.db = await createTestDatabase();
    const opened = await openDatabase({ databaseUrl: legacy.db.url, dataDir: '' });
    legacy.orm = opened.orm;
    close = opened.close;
  });
  afterAll(async () => {
    await close?.();
    await legacy.db?.drop();
  });
  return legacy as { db: TestDatabase; orm: Orm };
}

/** Orgs with these ids, as rows an older build wrote. */
async function seedOrgs(db: TestDatabase, ids: string[]): Promise<void> {
  for (const id of ids)
    await db.query(`insert into organizations (id, created_at, name, slug) values ($1, now(), 'Org', $2)`, [id, `org-${id.slice(0, 8)}`]);
}

describe('one pending invitation per (org, email)', () => {
  const legacy = useLegacyDatabase();

  it('keeps, of the pending duplicates a database already holds, the most recently sent, and then refuses another', async () => {
    const { orm, db: legacyDb } = legacy;
    await orm.migrator.up({ to: 'Migration20261205100000_task_lookup_index' });
    const [orgA, orgB] = [randomUUID(), randomUUID()];
    await seedOrgs(legacyDb, [orgA, orgB]);
    const rows: Record<string, string> = {};
    // [name, org, email, created hours ago, expires in hours, accepted]
    const seeded: Array<[string, string, string, number, number, boolean]> = [
      ['first', orgA, 'x@example.test', 5, 163, false],
      ['second', orgA, 'x@example.test', 3, 165, false],
      // made first of all, but renewed (sent again) last: its expiry moved, its creation did not
      ['renewed', orgA, 'x@example.test', 6, 167, false],
      ['tieOlder', orgA, 'y@example.test', 2, 100, false],
      ['tieNewer', orgA, 'y@example.test', 1, 100, false],
      ['accepted', orgA, 'y@example.test', 9, 10, true],
      ['otherOrg', orgB, 'x@example.test', 4, 164, false],
      ['expiredAlone', orgB, 'z@example.test', 200, -32, false],
    ];
    const now = Date.now();
    const hours = (n: number) => new Date(now + n * 3_600_000);
    for (const [name, org, email, createdAgo, expiresIn, accepted] of seeded) {
      rows[name] = randomUUID();
      await legacyDb.query(
        `insert into invites (id, created_at, org_id, email, role, token_hash, expires_at, accepted_at)
         values ($1, $2, $3, $4, 'member', $5, $6, $7)`,
        [
          rows[name],
          hours(-createdAgo),
          org,
          email,
          randomUUID().replaceAll('-', '').padEnd(64, '0'),
          hours(expiresIn),
          accepted ? hours(0) : null,
        ],
      );
    }

    await orm.migrator.up();
    const kept = await legacyDb.query<{ id: string }>('select id from invites order by id');
    const names = Object.fromEntries(Object.entries(rows).map(([name, id]) => [id, name]));
    expect(kept.map((row) => names[row.id]).sort()).toEqual(['accepted', 'expiredAlone', 'otherOrg', 'renewed', 'tieNewer'].sort());

    const another = legacyDb.query(
      `insert into invites (id, created_at, org_id, email, role, token_hash, expires_at)
       values ($1, now(), $2, 'x@example.test', 'viewer', $3, now() + interval '1 day')`,
      [randomUUID(), orgA, 'f'.repeat(64)],
    );
    await expect(another).rejects.toMatchObject({ code: '23505', constraint: 'invites_org_id_email_pending_unique' });
    // Accepted invitations are history: any number of them may name the same email.
    await legacyDb.query(
      `insert into invites (id, created_at, org_id, email, role, token_hash, expires_at, accepted_at)
       values ($1, now(), $2, 'y@example.test', 'viewer', $3, now(), now())`,
      [randomUUID(), orgA, 'e'.repeat(64)],
    );
  });
});

describe('label names in one Unicode form', () => {
  const legacy = useLegacyDatabase();

  it('composes the names a database holds (NFC), keeping every label under a name of its own within the limit', async () => {
    const { orm, db: legacyDb } = legacy;
    await orm.migrator.up({ to: 'Migration20261211100000_no_org_key_on_board_parts' });
    const [orgA, orgB, orgC] = [randomUUID(), randomUUID(), randomUUID()];
    await seedOrgs(legacyDb, [orgA, orgB, orgC]);
    const [composed, apart] = ['Caf\u00e9', 'Cafe\u0301'];
    // Two spellings apart of one letter (a with a dot below and a circumflex), in either order of its marks.
    const [marksOneWay, marksOtherWay] = ['Ca\u0323\u0302', 'Ca\u0302\u0323'];
    const long = `${'a'.repeat(99)}\u0958`; // 100 characters; 101 composed (U+0958 is two there)
    const ids: Record<string, string> = {};
    // [name, org, stored name, created hours ago]
    const seeded: Array<[string, string, string, number]> = [
      ['aloneApart', orgB, apart, 3], // no other: it is composed
      ['pairComposed', orgA, composed, 1], // keeps the name, though the other is older
      ['pairApart', orgA, apart, 2],
      ['plain', orgA, 'bug', 4],
      ['olderApart', orgC, marksOneWay, 6], // two spelt apart, none composed: the older keeps the name
      ['newerApart', orgC, marksOtherWay, 5],
      ['grows', orgA, long, 7],
    ];
    for (const [key, org, name, hoursAgo] of seeded) {
      ids[key] = randomUUID();
      await legacyDb.query(
        `insert into labels (id, created_at, org_id, name, color) values ($1, now() - make_interval(hours => $2), $3, $4, '#000000')`,
        [ids[key], hoursAgo, org, name],
      );
    }

    await orm.migrator.up();
    const names = Object.fromEntries(
      (await legacyDb.query<{ id: string; name: string }>('select id, name from labels')).map((row) => [row.id, row.name]),
    );
    const suffixed = (name: string, key: string) => `${name.normalize('NFC').slice(0, 61)} (${ids[key]})`;
    expect(Object.fromEntries(Object.entries(ids).map(([key, id]) => [key, names[id]]))).toEqual({
      aloneApart: composed,
      pairComposed: composed,
      pairApart: suffixed(composed, 'pairApart'),
      plain: 'bug',
      olderApart: 'C\u1ead',
      newerApart: suffixed('C\u1ead', 'newerApart'),
      grows: suffixed(long, 'grows'),
    });
  });
});

describe('a connecting role that may not create roles', () => {
  // A role an administrator made for TaskFlow: it bypasses RLS and was granted taskflow_app, which
  // exists already (the cluster's other databases made it), but it has no CREATEROLE.
  const role = `taskflow_test_owner_${randomUUID().replaceAll('-', '').slice(0, 8)}`;
  let owned: TestDatabase;
  let notOwned: TestDatabase;

  beforeAll(async () => {
    owned = await createTestDatabase();
    notOwned = await createTestDatabase();
    await admin(`create role ${role} login bypassrls`);
    await admin(`grant taskflow_app to ${role}`);
    await admin(`alter database ${owned.name} owner to ${role}`);
    await owned.query(`alter schema public owner to ${role}`);
  });

  afterAll(async () => {
    await owned?.drop();
    await notOwned?.drop();
    await admin(`drop role if exists ${role}`);
  });

  it("stops start-up with one line on a database whose schema it may not create tables in (PostgreSQL 15's default for a role that owns nothing)", async () => {
    const url = new URL(notOwned.url);
    url.username = role;
    const opened = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
    try {
      const refusal = await migrate(opened.orm, url.toString()).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ConfigError);
      expect((refusal as Error).message).toBe(
        'the role of DATABASE_URL cannot migrate the database (permission denied for schema public): it must own the database and its public schema, or be a superuser, and a role that may not create roles needs taskflow_app made for it first (README, "The database role")',
      );
    } finally {
      await opened.close();
    }
  });

  it('migrates a new database, and its tenant work runs as taskflow_app', async () => {
    const url = new URL(owned.url);
    url.username = role;
    const opened = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
    try {
      await opened.orm.migrator.up();
      expect(await opened.orm.migrator.getPendingMigrations()).toEqual([]);
      const em = opened.orm.em.fork();
      await em.transactional(async (tx) => {
        await tx.execute('set local role taskflow_app');
        expect(await tx.execute('select current_user as who')).toEqual([{ who: 'taskflow_app' }]);
      });
    } finally {
      await opened.close();
    }
  });
});

describe('a connecting role short of what its work needs', () => {
  // Each owns its database and schema, so migrates: one does not bypass RLS (its org reads came
  // back empty), the other was not granted taskflow_app (a dump restored under a new role).
  const suffix = randomUUID().replaceAll('-', '').slice(0, 8);
  const roles = { bound: `taskflow_test_bound_${suffix}`, ungranted: `taskflow_test_ungranted_${suffix}` };
  const databases: TestDatabase[] = [];

  afterAll(async () => {
    for (const database of databases) await database.drop();
    for (const role of Object.values(roles)) await admin(`drop role if exists ${role}`);
  });

  async function migrateAs(role: string): Promise<unknown> {
    const database = await createTestDatabase();
    databases.push(database);
    await admin(`alter database ${database.name} owner to ${role}`);
    await database.query(`alter schema public owner to ${role}`);
    const url = new URL(database.url);
    url.username = role;
    const opened = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
    try {
      return await migrate(opened.orm, url.toString()).catch((error: unknown) => error);
    } finally {
      await opened.close();
    }
  }

  it('stops start-up with one line when the role does not bypass row-level security', async () => {
    await admin(`create role ${roles.bound} login`);
    await admin(`grant taskflow_app to ${roles.bound}`);
    const refusal = await migrateAs(roles.bound);
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as Error).message).toBe(
      `the role of DATABASE_URL (${roles.bound}) must be one that bypasses row-level security: ALTER ROLE "${roles.bound}" BYPASSRLS (README, "The database role")`,
    );
  });

  it('stops start-up with one line, once migrated, when the role may not set role taskflow_app', async () => {
    await admin(`create role ${roles.ungranted} login bypassrls`);
    const refusal = await migrateAs(roles.ungranted);
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as Error).message).toBe(
      `the role of DATABASE_URL (${roles.ungranted}) must be one that may set role taskflow_app: GRANT taskflow_app TO "${roles.ungranted}" (README, "The database role")`,
    );
  });
});

describe('a migration whose tables another session holds (an old node still writing, a long transaction)', () => {
  let held: TestDatabase;
  let opened: { orm: Orm; close: () => Promise<void> } | undefined;
  // It alters board_events, the two before it do not.
  const blocked = migrationsList.findIndex((migration) => migration.name === 'Migration20261209100000_board_rows_without_org_key');
  const last = migrationsList[blocked]!.name;
  const before = migrationsList[blocked - 3]!.name;
  const fromBlocked = migrationsList.slice(blocked).map((migration) => migration.name);

  beforeAll(async () => {
    held = await createTestDatabase();
    await admin(`alter database ${held.name} set taskflow.migration_lock_timeout = '200ms'`);
    opened = await openDatabase({ databaseUrl: held.url, dataDir: '' });
    await opened.orm.migrator.up({ to: before });
  });

  afterAll(async () => {
    await opened?.close();
    await held?.drop();
  });

  it('stops start-up with one line after three tries, the migrations before it applied', async () => {
    const release = await holdLock(held, 'lock table board_events in access share mode');
    const warnings: unknown[] = [];
    try {
      const refusal = await migrate(opened!.orm, held.url, { warn: (details) => warnings.push(details) }).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ConfigError);
      expect((refusal as Error).message).toBe(
        `migration ${last} waited too long for a lock on its tables, 3 times: another session holds its tables (a node of the old build still running, a long transaction); stop it and start again`,
      );
    } finally {
      await release();
    }
    expect(warnings).toEqual([
      { migration: last, tried: 1 },
      { migration: last, tried: 2 },
    ]);
    expect((await opened!.orm.migrator.getPendingMigrations()).map((migration) => migration.name)).toEqual(fromBlocked);
  });

  it('is tried again, and applied once the other session lets go', async () => {
    const release = await holdLock(held, 'lock table board_events in access share mode');
    const applied = await migrate(opened!.orm, held.url, { warn: () => void release() });
    expect(applied).toEqual(fromBlocked);
    expect(await opened!.orm.migrator.getPendingMigrations()).toEqual([]);
  });
});

describe("a database of the first day's builds, whose organizations already have billing_email", () => {
  let early: TestDatabase;
  let opened: { orm: Orm; close: () => Promise<void> } | undefined;

  beforeAll(async () => {
    early = await createTestDatabase();
    opened = await openDatabase({ databaseUrl: early.url, dataDir: '' });
  });

  afterAll(async () => {
    await opened?.close();
    await early?.drop();
  });

  it('migrates to the end', async () => {
    await opened!.orm.migrator.up({ to: 'Migration20261122150857_governance' });
    await early.query(`alter table organizations add column billing_email varchar(320) null`); // their initial migration made it
    await migrate(opened!.orm, early.url);
    expect(await opened!.orm.migrator.getPendingMigrations()).toEqual([]);
  });
});

describe('a database a newer build migrated (a rollback)', () => {
  let newer: TestDatabase;
  let opened: { orm: Orm; close: () => Promise<void> } | undefined;

  beforeAll(async () => {
    newer = await createTestDatabase();
    opened = await openDatabase({ databaseUrl: newer.url, dataDir: '' });
    await migrate(opened.orm, newer.url);
    await newer.query(`insert into mikro_orm_migrations (name, executed_at) values ('Migration29991231000000_from_a_later_build', now())`);
  });

  afterAll(async () => {
    await opened?.close();
    await newer?.drop();
  });

  it('stops start-up with one line naming what this build does not know', async () => {
    const refusal = await migrate(opened!.orm, newer.url).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as Error).message).toBe(
      'the database was migrated by a newer build (Migration29991231000000_from_a_later_build): run that build or a later one; to go back, restore the backup taken before the upgrade',
    );
  });
});

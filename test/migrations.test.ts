import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Orm, openDatabase } from '../server/db/orm.js';
import { createTestDatabase, type TestDatabase } from './support/database.js';

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

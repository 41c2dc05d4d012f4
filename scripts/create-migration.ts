// Writes a migration for the difference between the entities and a scratch database built from
// the existing migrations. Usage: npm run migration:create -- <name>
import { randomUUID } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import { ormOptions } from '../server/db/orm.js';

const admin = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const scratch = `taskflow_migration_${randomUUID().slice(0, 8)}`;
const adminOrm = await MikroORM.init({ ...ormOptions(admin), entities: [], discovery: { warnWhenNoEntities: false } });
await adminOrm.em.getConnection().execute(`create database ${scratch}`);
try {
  const url = new URL(admin);
  url.pathname = `/${scratch}`;
  const orm = await MikroORM.init(ormOptions(url.toString()));
  await orm.migrator.up();
  const result = await orm.migrator.createMigration('migrations', false, false, process.argv[2]);
  console.log(result.fileName ? `wrote migrations/${result.fileName}; add it to migrations/index.ts` : 'no changes');
  await orm.close(true);
} finally {
  await adminOrm.em.getConnection().execute(`drop database ${scratch} with (force)`);
  await adminOrm.close(true);
}

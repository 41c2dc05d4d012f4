import { Migration } from '@mikro-orm/migrations';

/**
 * What a task change writes, the task and the board's event, has no foreign key to the org, only
 * to the board (which has one to the org). The org's key was checked on every event logged (and
 * on a task changed twice in one transaction), by a lock on the org's row, which every board of
 * the org shares: each change of any board wrote that lock into the row, and changes of two boards
 * at once made PostgreSQL create a multixact for it. The rows still go with their board, and so
 * with their org; row-level security holds their `org_id` to the tenant's, whose board it must be.
 */
export class Migration20261209100000_board_rows_without_org_key extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "board_events" drop constraint "board_events_org_id_foreign";`);
    this.addSql(`alter table "tasks" drop constraint "tasks_org_id_foreign";`);
  }

  override async down(): Promise<void> {
    for (const table of ['board_events', 'tasks'])
      this.addSql(
        `alter table "${table}" add constraint "${table}_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
      );
  }
}

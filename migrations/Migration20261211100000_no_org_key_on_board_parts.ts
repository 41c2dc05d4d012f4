import { Migration } from '@mikro-orm/migrations';

const TABLES = ['board_columns', 'task_labels', 'board_noop_mutations'];

/**
 * The other rows of a board lose their foreign key to the org, as tasks and events did
 * (`Migration20261209100000_board_rows_without_org_key`): a label set on a task, a no-op's record
 * and a column change each locked the org's row, which every board of the org shares, and the
 * key had no index, so deleting an org read each of these tables whole. The rows still go with
 * their board or task, and so with their org; row-level security holds their `org_id` to the
 * tenant's.
 */
export class Migration20261211100000_no_org_key_on_board_parts extends Migration {
  override async up(): Promise<void> {
    for (const table of TABLES) this.addSql(`alter table "${table}" drop constraint "${table}_org_id_foreign";`);
  }

  override async down(): Promise<void> {
    for (const table of TABLES)
      this.addSql(
        `alter table "${table}" add constraint "${table}_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
      );
  }
}

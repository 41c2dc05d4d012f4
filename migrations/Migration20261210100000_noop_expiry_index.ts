import { Migration } from '@mikro-orm/migrations';

/**
 * A board's no-op records by time: a no-op drops its board's records older than a day
 * (`noopRecord`), with the board's row locked. Without this, that delete read every record of the
 * board, or the whole table across tenants: with 200,000 records a no-op took 134-144 ms at p50
 * against 4-8 ms for a change (the data-lifecycle review).
 */
export class Migration20261210100000_noop_expiry_index extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "board_noop_mutations_project_id_created_at_index" on "board_noop_mutations" ("project_id", "created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "board_noop_mutations_project_id_created_at_index";`);
  }
}

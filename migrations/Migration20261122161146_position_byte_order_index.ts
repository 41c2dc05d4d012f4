import { Migration } from '@mikro-orm/migrations';

/** An index in byte order for the neighbour lookups of task positions (`ORDER BY position COLLATE "C"`). */
export class Migration20261122161146_position_byte_order_index extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "tasks_column_position_bytes_index" on "tasks" ("column_id", "position" collate "C");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "tasks_column_position_bytes_index";`);
  }
}

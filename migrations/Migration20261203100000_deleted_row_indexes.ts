import { Migration } from '@mikro-orm/migrations';

/**
 * Where a deleted task or column was is read from the event that deleted it (`BoardLocator`), by
 * its id in the event's data: these indexes hold those events only.
 */
export class Migration20261203100000_deleted_row_indexes extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index "board_events_deleted_task_index" on "board_events" (("payload" ->> 'taskId')) where "type" = 'task.deleted';`,
    );
    this.addSql(
      `create index "board_events_deleted_column_index" on "board_events" (("payload" -> 'column' ->> 'id')) where "type" = 'column.deleted';`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "board_events_deleted_column_index";`);
    this.addSql(`drop index "board_events_deleted_task_index";`);
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * A board's tasks are indexed by board and id, not by board alone: a task's change names both, and
 * finds its row here whatever plan its prepared statement got (one made while the table had no
 * statistics read the board's every task through the old index).
 */
export class Migration20261205100000_task_lookup_index extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "tasks_project_id_id_index" on "tasks" ("project_id", "id");`);
    this.addSql(`drop index "tasks_project_id_index";`);
  }

  override async down(): Promise<void> {
    this.addSql(`create index "tasks_project_id_index" on "tasks" ("project_id");`);
    this.addSql(`drop index "tasks_project_id_id_index";`);
  }
}

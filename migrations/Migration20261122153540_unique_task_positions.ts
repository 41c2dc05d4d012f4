import { Migration } from '@mikro-orm/migrations';

/** Two tasks never share a position in a column: the database now says so too. */
export class Migration20261122153540_unique_task_positions extends Migration {
  override async up(): Promise<void> {
    this.addSql(`drop index "tasks_column_id_position_index";`);

    this.addSql(`alter table "tasks" add constraint "tasks_column_id_position_unique" unique ("column_id", "position");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "tasks" drop constraint "tasks_column_id_position_unique";`);

    this.addSql(`CREATE INDEX tasks_column_id_position_index ON public.tasks USING btree (column_id, "position");`);
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * The event log's clientMutationId index holds only the events that have one: the others need no
 * entry (NULLs never clash), and a plan for a range of a board's `seq` cannot take it instead of
 * `(project_id, seq)` (a pruning prepared while the log was short did, and read every event of
 * the board each time).
 */
export class Migration20261202110000_partial_mutation_id_index extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "board_events" drop constraint "board_events_project_id_client_mutation_id_unique";`);

    this.addSql(
      `create unique index "board_events_project_id_client_mutation_id_unique" on "board_events" ("project_id", "client_mutation_id") where "client_mutation_id" is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "board_events_project_id_client_mutation_id_unique";`);

    this.addSql(
      `alter table "board_events" add constraint "board_events_project_id_client_mutation_id_unique" unique ("project_id", "client_mutation_id");`,
    );
  }
}

import { Migration } from '@mikro-orm/migrations';
import { protectTenantTable } from './row-level-security.js';

/** Changes that changed nothing, kept so that a retry of one answers what it did (`NoopMutation`). Only adds a table. */
export class Migration20261204100000_noop_mutations extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "board_noop_mutations" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "project_id" uuid not null, "client_mutation_id" varchar(100) not null, "type" varchar(40) not null, "answer" jsonb not null, constraint "board_noop_mutations_pkey" primary key ("id"));`,
    );
    this.addSql(
      `alter table "board_noop_mutations" add constraint "board_noop_mutations_project_id_client_mutation_id_unique" unique ("project_id", "client_mutation_id");`,
    );
    this.addSql(
      `alter table "board_noop_mutations" add constraint "board_noop_mutations_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "board_noop_mutations" add constraint "board_noop_mutations_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );
    for (const sql of protectTenantTable('board_noop_mutations')) this.addSql(sql);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "board_noop_mutations" cascade;`);
  }
}

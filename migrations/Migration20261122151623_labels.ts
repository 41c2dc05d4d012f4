import { Migration } from '@mikro-orm/migrations';
import { protectTenantTable } from './row-level-security.js';

/**
 * Labels, the safe-migration example: it only adds tables (no rewrite or lock of a table in use,
 * no column that old code would trip on), so it can run while the previous version still serves,
 * and `down` drops only what `up` added.
 */
export class Migration20261122151623_labels extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "labels" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "name" varchar(100) not null, "color" varchar(7) not null, constraint "labels_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "labels" add constraint "labels_org_id_name_unique" unique ("org_id", "name");`);

    this.addSql(
      `create table "task_labels" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "task_id" uuid not null, "label_id" uuid not null, constraint "task_labels_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "task_labels_label_id_index" on "task_labels" ("label_id");`);
    this.addSql(`alter table "task_labels" add constraint "task_labels_task_id_label_id_unique" unique ("task_id", "label_id");`);

    this.addSql(
      `alter table "labels" add constraint "labels_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "task_labels" add constraint "task_labels_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "task_labels" add constraint "task_labels_task_id_foreign" foreign key ("task_id") references "tasks" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "task_labels" add constraint "task_labels_label_id_foreign" foreign key ("label_id") references "labels" ("id") on update cascade on delete cascade;`,
    );

    for (const table of ['labels', 'task_labels']) for (const sql of protectTenantTable(table)) this.addSql(sql);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "labels" cascade;`);

    this.addSql(`drop table if exists "task_labels" cascade;`);
  }
}

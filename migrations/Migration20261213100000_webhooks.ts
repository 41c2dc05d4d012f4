import { Migration } from '@mikro-orm/migrations';
import { protectTenantTable } from './row-level-security.js';

/** Outgoing webhooks (`server/webhooks/`): the hooks, how far each has taken each board's events, and their deliveries. Only adds tables. */
export class Migration20261213100000_webhooks extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "webhooks" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "url" varchar(2000) not null, "secret" varchar(100) not null, "events" jsonb null, "created_by_id" uuid null, constraint "webhooks_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "webhooks_org_id_index" on "webhooks" ("org_id");`);

    this.addSql(
      `create table "webhook_cursors" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "webhook_id" uuid not null, "project_id" uuid not null, "seq" int not null, constraint "webhook_cursors_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "webhook_cursors_project_id_index" on "webhook_cursors" ("project_id");`);
    this.addSql(
      `alter table "webhook_cursors" add constraint "webhook_cursors_webhook_id_project_id_unique" unique ("webhook_id", "project_id");`,
    );

    this.addSql(
      `create table "webhook_deliveries" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "webhook_id" uuid not null, "project_id" uuid not null, "seq" int not null, "event_type" varchar(40) not null, "body" text not null, "status" text check ("status" in ('pending', 'delivered', 'failed')) not null, "attempts" int not null default 0, "next_attempt_at" timestamptz not null, "last_attempt_at" timestamptz null, "last_status" int null, "last_error" varchar(300) null, "delivered_at" timestamptz null, constraint "webhook_deliveries_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "webhook_deliveries_due_index" on "webhook_deliveries" ("next_attempt_at") where "status" = 'pending';`);
    this.addSql(`create index "webhook_deliveries_webhook_id_created_at_index" on "webhook_deliveries" ("webhook_id", "created_at");`);
    this.addSql(
      `create index "webhook_deliveries_pending_index" on "webhook_deliveries" ("webhook_id", "next_attempt_at") where "status" = 'pending';`,
    );
    this.addSql(`create index "webhook_deliveries_finished_index" on "webhook_deliveries" ("created_at") where "status" <> 'pending';`);
    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_webhook_id_project_id_seq_unique" unique ("webhook_id", "project_id", "seq");`,
    );

    this.addSql(
      `alter table "webhooks" add constraint "webhooks_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "webhooks" add constraint "webhooks_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "webhook_cursors" add constraint "webhook_cursors_webhook_id_foreign" foreign key ("webhook_id") references "webhooks" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "webhook_cursors" add constraint "webhook_cursors_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "webhook_deliveries" add constraint "webhook_deliveries_webhook_id_foreign" foreign key ("webhook_id") references "webhooks" ("id") on update cascade on delete cascade;`,
    );
    for (const table of ['webhooks', 'webhook_cursors', 'webhook_deliveries'])
      for (const sql of protectTenantTable(table)) this.addSql(sql);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "webhook_deliveries" cascade;`);
    this.addSql(`drop table if exists "webhook_cursors" cascade;`);
    this.addSql(`drop table if exists "webhooks" cascade;`);
  }
}

import { Migration } from '@mikro-orm/migrations';

export class Migration20261122145006_initial extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "organizations" ("id" uuid not null, "created_at" timestamptz not null, "name" varchar(200) not null, "slug" varchar(64) not null, "plan" text check ("plan" in ('free', 'pro', 'enterprise')) not null default 'free', "settings" jsonb not null default '{}', constraint "organizations_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "organizations" add constraint "organizations_slug_unique" unique ("slug");`);

    this.addSql(
      `create table "users" ("id" uuid not null, "created_at" timestamptz not null, "email" varchar(320) not null, "password_hash" varchar(255) not null, "name" varchar(200) not null, "avatar_url" varchar(2000) null, "email_verified" boolean not null default false, "is_super_admin" boolean not null default false, constraint "users_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "users" add constraint "users_email_unique" unique ("email");`);

    this.addSql(
      `create table "projects" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "name" varchar(200) not null, "description" text null, "status" text check ("status" in ('active', 'archived')) not null default 'active', "created_by_id" uuid null, "seq" int not null default 0, constraint "projects_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "projects_org_id_index" on "projects" ("org_id");`);

    this.addSql(
      `create table "board_columns" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "project_id" uuid not null, "name" varchar(200) not null, "position" varchar(200) not null, "is_done" boolean not null default false, constraint "board_columns_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "board_columns_project_id_index" on "board_columns" ("project_id");`);

    this.addSql(
      `create table "tasks" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "project_id" uuid not null, "column_id" uuid not null, "title" varchar(500) not null, "description" text null, "priority" smallint not null default 0, "assignee_id" uuid null, "due_date" date null, "position" varchar(200) not null, "version" int not null default 1, "created_by_id" uuid null, "updated_at" timestamptz not null, "completed_at" timestamptz null, constraint "tasks_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "tasks_project_id_index" on "tasks" ("project_id");`);
    this.addSql(`create index "tasks_column_id_position_index" on "tasks" ("column_id", "position");`);

    this.addSql(
      `create table "board_events" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "project_id" uuid not null, "seq" int not null, "type" varchar(40) not null, "actor" jsonb not null, "payload" jsonb not null, "client_mutation_id" varchar(100) null, constraint "board_events_pkey" primary key ("id"));`,
    );
    this.addSql(`alter table "board_events" add constraint "board_events_project_id_seq_unique" unique ("project_id", "seq");`);
    this.addSql(
      `alter table "board_events" add constraint "board_events_project_id_client_mutation_id_unique" unique ("project_id", "client_mutation_id");`,
    );

    this.addSql(
      `create table "memberships" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "user_id" uuid not null, "role" text check ("role" in ('viewer', 'member', 'admin', 'owner')) not null, "invited_at" timestamptz null, "joined_at" timestamptz null, constraint "memberships_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "memberships_user_id_index" on "memberships" ("user_id");`);
    this.addSql(`alter table "memberships" add constraint "memberships_org_id_user_id_unique" unique ("org_id", "user_id");`);

    this.addSql(
      `alter table "projects" add constraint "projects_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "projects" add constraint "projects_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "board_columns" add constraint "board_columns_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "board_columns" add constraint "board_columns_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "tasks" add constraint "tasks_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_column_id_foreign" foreign key ("column_id") references "board_columns" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_assignee_id_foreign" foreign key ("assignee_id") references "users" ("id") on update cascade on delete set null;`,
    );
    this.addSql(
      `alter table "tasks" add constraint "tasks_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "board_events" add constraint "board_events_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "board_events" add constraint "board_events_project_id_foreign" foreign key ("project_id") references "projects" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "memberships" add constraint "memberships_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "memberships" add constraint "memberships_user_id_foreign" foreign key ("user_id") references "users" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "projects" drop constraint "projects_org_id_foreign";`);

    this.addSql(`alter table "board_columns" drop constraint "board_columns_org_id_foreign";`);

    this.addSql(`alter table "tasks" drop constraint "tasks_org_id_foreign";`);

    this.addSql(`alter table "board_events" drop constraint "board_events_org_id_foreign";`);

    this.addSql(`alter table "memberships" drop constraint "memberships_org_id_foreign";`);

    this.addSql(`alter table "projects" drop constraint "projects_created_by_id_foreign";`);

    this.addSql(`alter table "tasks" drop constraint "tasks_assignee_id_foreign";`);

    this.addSql(`alter table "tasks" drop constraint "tasks_created_by_id_foreign";`);

    this.addSql(`alter table "memberships" drop constraint "memberships_user_id_foreign";`);

    this.addSql(`alter table "board_columns" drop constraint "board_columns_project_id_foreign";`);

    this.addSql(`alter table "tasks" drop constraint "tasks_project_id_foreign";`);

    this.addSql(`alter table "board_events" drop constraint "board_events_project_id_foreign";`);

    this.addSql(`alter table "tasks" drop constraint "tasks_column_id_foreign";`);

    this.addSql(`drop table if exists "organizations" cascade;`);

    this.addSql(`drop table if exists "users" cascade;`);

    this.addSql(`drop table if exists "projects" cascade;`);

    this.addSql(`drop table if exists "board_columns" cascade;`);

    this.addSql(`drop table if exists "tasks" cascade;`);

    this.addSql(`drop table if exists "board_events" cascade;`);

    this.addSql(`drop table if exists "memberships" cascade;`);
  }
}

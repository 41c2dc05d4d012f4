import { Migration } from '@mikro-orm/migrations';
import { protectTenantTable } from './row-level-security.js';

/** Invitations, API keys and the audit log: tenant tables, behind row-level security like the rest. */

export class Migration20261122150857_governance extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "audit_logs" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "actor" jsonb not null, "action" varchar(64) not null, "entity_type" varchar(64) not null, "entity_id" varchar(64) null, "details" jsonb not null, "ip" varchar(64) null, "user_agent" varchar(500) null, constraint "audit_logs_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "audit_logs_org_id_created_at_id_index" on "audit_logs" ("org_id", "created_at", "id");`);

    this.addSql(
      `create table "invites" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "email" varchar(320) not null, "role" text check ("role" in ('viewer', 'member', 'admin', 'owner')) not null, "token_hash" varchar(64) not null, "invited_by_id" uuid null, "expires_at" timestamptz not null, "accepted_at" timestamptz null, constraint "invites_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "invites_org_id_index" on "invites" ("org_id");`);
    this.addSql(`alter table "invites" add constraint "invites_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "invites_email_index" on "invites" ("email");`);

    this.addSql(
      `create table "api_keys" ("id" uuid not null, "created_at" timestamptz not null, "org_id" uuid not null, "name" varchar(200) not null, "prefix" varchar(32) not null, "key_hash" varchar(64) not null, "permissions" jsonb not null, "created_by_id" uuid null, "expires_at" timestamptz null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, constraint "api_keys_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "api_keys_org_id_index" on "api_keys" ("org_id");`);
    this.addSql(`alter table "api_keys" add constraint "api_keys_prefix_unique" unique ("prefix");`);

    this.addSql(
      `alter table "audit_logs" add constraint "audit_logs_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "invites" add constraint "invites_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "invites" add constraint "invites_invited_by_id_foreign" foreign key ("invited_by_id") references "users" ("id") on update cascade on delete set null;`,
    );

    this.addSql(
      `alter table "api_keys" add constraint "api_keys_org_id_foreign" foreign key ("org_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "api_keys" add constraint "api_keys_created_by_id_foreign" foreign key ("created_by_id") references "users" ("id") on update cascade on delete set null;`,
    );

    for (const table of ['invites', 'api_keys', 'audit_logs']) for (const sql of protectTenantTable(table)) this.addSql(sql);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "audit_logs" cascade;`);

    this.addSql(`drop table if exists "invites" cascade;`);

    this.addSql(`drop table if exists "api_keys" cascade;`);
  }
}

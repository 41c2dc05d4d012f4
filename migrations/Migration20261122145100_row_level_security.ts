import { Migration } from '@mikro-orm/migrations';
import { CURRENT_ORG, protectTenantTable, unprotectTenantTable } from './row-level-security.js';

/** The tables that carry `org_id`; each is read only within its own tenant. */
const tenantTables = ['memberships', 'projects', 'board_columns', 'tasks', 'board_events'];

/**
 * The second wall of tenant isolation (DESIGN §3): tenant transactions switch to `taskflow_app`,
 * a role that owns nothing and cannot bypass RLS, and each tenant table (forced) shows that role
 * only the rows of the org named by `app.org_id`. With no org set, no row is visible.
 */
export class Migration20261122145100_row_level_security extends Migration {
  override async up(): Promise<void> {
    // Created only where it is missing: a role without CREATEROLE can migrate once an
    // administrator has created it and granted it to that role (README, "The database role").
    this.addSql(`do $$ begin
      if not exists (select from pg_roles where rolname = 'taskflow_app') then
        create role taskflow_app nologin noinherit;
      end if;
    exception when duplicate_object or unique_violation then null;
    end $$;`);
    this.addSql(`do $$ begin
      if not (select rolsuper from pg_roles where rolname = current_user) then
        execute format('grant taskflow_app to %I', current_user);
      end if;
    exception when others then null;
    end $$;`);
    this.addSql(`grant usage on schema public to taskflow_app;`);
    this.addSql(`grant select on "users" to taskflow_app;`);
    this.addSql(`grant select, insert, update, delete on "organizations" to taskflow_app;`);
    this.addSql(`alter table "organizations" enable row level security;`);
    this.addSql(`alter table "organizations" force row level security;`);
    this.addSql(`create policy tenant_isolation on "organizations" to taskflow_app using (id = ${CURRENT_ORG});`);
    for (const table of tenantTables) for (const sql of protectTenantTable(table)) this.addSql(sql);
  }

  override async down(): Promise<void> {
    for (const table of tenantTables) for (const sql of unprotectTenantTable(table)) this.addSql(sql);
    this.addSql(`drop policy if exists tenant_isolation on "organizations";`);
    this.addSql(`alter table "organizations" no force row level security;`);
    this.addSql(`alter table "organizations" disable row level security;`);
  }
}

/** `app.org_id` as a uuid, or null when no org is set (then no row is visible). */
export const CURRENT_ORG = `nullif(current_setting('app.org_id', true), '')::uuid`;

/**
 * The statements that put a tenant table behind the second wall (DESIGN §3): `taskflow_app` may
 * use it, and sees and writes only the rows whose `org_id` is the current org. Forced, so the
 * table's owner is held to it too.
 */
export function protectTenantTable(table: string): string[] {
  return [
    `grant select, insert, update, delete on "${table}" to taskflow_app;`,
    `alter table "${table}" enable row level security;`,
    `alter table "${table}" force row level security;`,
    `create policy tenant_isolation on "${table}" to taskflow_app using (org_id = ${CURRENT_ORG}) with check (org_id = ${CURRENT_ORG});`,
  ];
}

export function unprotectTenantTable(table: string): string[] {
  return [
    `drop policy if exists tenant_isolation on "${table}";`,
    `alter table "${table}" no force row level security;`,
    `alter table "${table}" disable row level security;`,
  ];
}

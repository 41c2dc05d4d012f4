import { Migration } from '@mikro-orm/migrations';

/**
 * Adds `organizations.billing_email` and fills it for existing orgs from their first owner's email
 * (the owner who joined earliest), so no org is left without one. Safe to run on a live database:
 * the column is added nullable, then filled in one statement.
 */
export class Migration20261122151000_org_billing_email extends Migration {
  override async up(): Promise<void> {
    // `if not exists`: the first day's builds made the column in their initial migration (the
    // upgrade review: their databases could never be migrated past this one).
    this.addSql(`alter table "organizations" add column if not exists "billing_email" varchar(320) null;`);
    this.addSql(`update "organizations" o set "billing_email" = (
      select u."email" from "memberships" m join "users" u on u."id" = m."user_id"
       where m."org_id" = o."id" and m."role" = 'owner'
       order by m."joined_at" nulls last, m."created_at" limit 1
    ) where o."billing_email" is null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "organizations" drop column "billing_email";`);
  }
}

import { Migration } from '@mikro-orm/migrations';

/**
 * One pending invitation per (org, email): inviting an email again renews its invitation, and now
 * the database holds that even for invitations sent at once. A database may already hold several
 * pending rows for one email (sent at once before this): of each such set, the one sent last is
 * kept, the latest `expires_at` (renewing a row moves its expiry, not its `created_at`, so this
 * also keeps the one still valid longest), then the latest `created_at`, then the greatest id; the
 * others are deleted, as a revocation would. Accepted invitations are history and stay.
 */
export class Migration20261206100000_one_pending_invite extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `delete from "invites" where "id" in (select "id" from (select "id", row_number() over (partition by "org_id", "email" order by "expires_at" desc, "created_at" desc, "id" desc) as "newest" from "invites" where "accepted_at" is null) as "pending" where "newest" > 1);`,
    );
    this.addSql(`create unique index "invites_org_id_email_pending_unique" on "invites" ("org_id", "email") where "accepted_at" is null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "invites_org_id_email_pending_unique";`);
  }
}

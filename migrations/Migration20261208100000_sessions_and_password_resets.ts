import { Migration } from '@mikro-orm/migrations';

/**
 * Accounts that can be recovered and whose sessions can be ended: each user's session version,
 * which their tokens carry and which ending their sessions raises (tokens signed before have the
 * old one and are refused), and the hash and expiry of their latest password-reset link.
 */
export class Migration20261208100000_sessions_and_password_resets extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table "users" add column "session_version" int not null default 0, add column "password_reset_hash" varchar(64) null, add column "password_reset_expires_at" timestamptz null;`,
    );
    this.addSql(`alter table "users" add constraint "users_password_reset_hash_unique" unique ("password_reset_hash");`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "users" drop constraint "users_password_reset_hash_unique";`);
    this.addSql(
      `alter table "users" drop column "session_version", drop column "password_reset_hash", drop column "password_reset_expires_at";`,
    );
  }
}

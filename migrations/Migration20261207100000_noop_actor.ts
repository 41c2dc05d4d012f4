import { Migration } from '@mikro-orm/migrations';

/**
 * Who made a change that changed nothing: a retry is its sender's own, so another user's or bot's
 * change under that id is refused, as it is for a change that logged an event. Records written
 * before this (kept a day) have none, and are answered to any sender as before.
 */
export class Migration20261207100000_noop_actor extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "board_noop_mutations" add column "actor" jsonb null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "board_noop_mutations" drop column "actor";`);
  }
}

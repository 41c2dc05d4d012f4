import type { MigrationObject } from '@mikro-orm/core';
import type { Migration } from '@mikro-orm/migrations';
import { Migration20261122145006_initial } from './Migration20261122145006_initial.js';
import { Migration20261122145100_row_level_security } from './Migration20261122145100_row_level_security.js';
import { Migration20261122150857_governance } from './Migration20261122150857_governance.js';
import { Migration20261122151000_org_billing_email } from './Migration20261122151000_org_billing_email.js';
import { Migration20261122151623_labels } from './Migration20261122151623_labels.js';
import { Migration20261122153540_unique_task_positions } from './Migration20261122153540_unique_task_positions.js';
import { Migration20261122161146_position_byte_order_index } from './Migration20261122161146_position_byte_order_index.js';
import { Migration20261202110000_partial_mutation_id_index } from './Migration20261202110000_partial_mutation_id_index.js';
import { Migration20261203100000_deleted_row_indexes } from './Migration20261203100000_deleted_row_indexes.js';
import { Migration20261204100000_noop_mutations } from './Migration20261204100000_noop_mutations.js';
import { Migration20261205100000_task_lookup_index } from './Migration20261205100000_task_lookup_index.js';
import { Migration20261206100000_one_pending_invite } from './Migration20261206100000_one_pending_invite.js';
import { Migration20261207100000_noop_actor } from './Migration20261207100000_noop_actor.js';
import { Migration20261208100000_sessions_and_password_resets } from './Migration20261208100000_sessions_and_password_resets.js';
import { Migration20261209100000_board_rows_without_org_key } from './Migration20261209100000_board_rows_without_org_key.js';
import { Migration20261210100000_noop_expiry_index } from './Migration20261210100000_noop_expiry_index.js';
import { Migration20261211100000_no_org_key_on_board_parts } from './Migration20261211100000_no_org_key_on_board_parts.js';
import { Migration20261212100000_label_names_composed } from './Migration20261212100000_label_names_composed.js';
import { Migration20261213100000_webhooks } from './Migration20261213100000_webhooks.js';

/** Every migration, oldest first: listed here so they run the same under tsx, vitest and node. */
const migrations: MigrationObject[] = [
  { name: 'Migration20261122145006_initial', class: Migration20261122145006_initial },
  { name: 'Migration20261122145100_row_level_security', class: Migration20261122145100_row_level_security },
  { name: 'Migration20261122150857_governance', class: Migration20261122150857_governance },
  { name: 'Migration20261122151000_org_billing_email', class: Migration20261122151000_org_billing_email },
  { name: 'Migration20261122151623_labels', class: Migration20261122151623_labels },
  { name: 'Migration20261122153540_unique_task_positions', class: Migration20261122153540_unique_task_positions },
  { name: 'Migration20261122161146_position_byte_order_index', class: Migration20261122161146_position_byte_order_index },
  { name: 'Migration20261202110000_partial_mutation_id_index', class: Migration20261202110000_partial_mutation_id_index },
  { name: 'Migration20261203100000_deleted_row_indexes', class: Migration20261203100000_deleted_row_indexes },
  { name: 'Migration20261204100000_noop_mutations', class: Migration20261204100000_noop_mutations },
  { name: 'Migration20261205100000_task_lookup_index', class: Migration20261205100000_task_lookup_index },
  { name: 'Migration20261206100000_one_pending_invite', class: Migration20261206100000_one_pending_invite },
  { name: 'Migration20261207100000_noop_actor', class: Migration20261207100000_noop_actor },
  { name: 'Migration20261208100000_sessions_and_password_resets', class: Migration20261208100000_sessions_and_password_resets },
  { name: 'Migration20261209100000_board_rows_without_org_key', class: Migration20261209100000_board_rows_without_org_key },
  { name: 'Migration20261210100000_noop_expiry_index', class: Migration20261210100000_noop_expiry_index },
  { name: 'Migration20261211100000_no_org_key_on_board_parts', class: Migration20261211100000_no_org_key_on_board_parts },
  { name: 'Migration20261212100000_label_names_composed', class: Migration20261212100000_label_names_composed },
  { name: 'Migration20261213100000_webhooks', class: Migration20261213100000_webhooks },
];

/**
 * How long a migration waits for a table's lock: `taskflow.migration_lock_timeout` where the
 * database sets it (`alter database … set taskflow.migration_lock_timeout = '30s'`), else 10 s.
 * Past that it fails, and `migrate` tries it again: a session that holds a table for long (a
 * node of the old build still writing, a long report) then costs a clear error, not a start-up
 * that hangs with every writer of that table queued behind the migration's lock.
 */
const LOCK_TIMEOUT = `select set_config('lock_timeout', coalesce(nullif(current_setting('taskflow.migration_lock_timeout', true), ''), '10s'), true)`;

interface Steps {
  up(): Promise<void>;
  down(): Promise<void>;
}
type MigrationClass = new (...args: ConstructorParameters<typeof Migration>) => Migration & Steps;

function waitingAtMostLockTimeout(Base: MigrationClass): MigrationClass {
  return class extends Base {
    override async up(): Promise<void> {
      this.addSql(LOCK_TIMEOUT);
      await super.up();
    }

    override async down(): Promise<void> {
      this.addSql(LOCK_TIMEOUT);
      await super.down();
    }
  };
}

/** The migrations in the order they run, each in a transaction of its own (`ormOptions`). */
export const migrationsList: MigrationObject[] = migrations.map(({ name, class: migration }) => ({
  name,
  class: waitingAtMostLockTimeout(migration as MigrationClass),
}));

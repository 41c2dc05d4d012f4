import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261122145006_initial } from './Migration20261122145006_initial.js';
import { Migration20261122145100_row_level_security } from './Migration20261122145100_row_level_security.js';

/** Every migration, oldest first: listed here so they run the same under tsx, vitest and node. */
export const migrationsList: MigrationObject[] = [
  { name: 'Migration20261122145006_initial', class: Migration20261122145006_initial },
  { name: 'Migration20261122145100_row_level_security', class: Migration20261122145100_row_level_security },
];

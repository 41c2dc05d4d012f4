import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { Actor, BoardEventType } from '../../shared/wire.js';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { Organization } from '../orgs/organization.entity.js';
import { Project } from '../projects/project.entity.js';

/** The per-board event log: what replay and idempotent retries read. */
export const BoardEvent = defineEntity({
  name: 'BoardEvent',
  tableName: 'board_events',
  filters: tenantFilter,
  uniques: [
    { properties: ['project', 'seq'] },
    // Only events that carry a clientMutationId are in this index: the others need no entry (NULLs
    // never clash), and a plan for a range of `seq` cannot take it for `(project_id, seq)`'s.
    {
      name: 'board_events_project_id_client_mutation_id_unique',
      expression:
        'create unique index "board_events_project_id_client_mutation_id_unique" on "board_events" ("project_id", "client_mutation_id") where "client_mutation_id" is not null',
    },
  ],
  // Where a deleted task or column was, by its id in the data of the event that deleted it.
  indexes: [
    {
      name: 'board_events_deleted_task_index',
      expression: `create index "board_events_deleted_task_index" on "board_events" (("payload" ->> 'taskId')) where "type" = 'task.deleted'`,
    },
    {
      name: 'board_events_deleted_column_index',
      expression: `create index "board_events_deleted_column_index" on "board_events" (("payload" -> 'column' ->> 'id')) where "type" = 'column.deleted'`,
    },
  ],
  properties: {
    ...baseProperties,
    // No foreign key to the org: its check would lock the org's row, which every board of the org
    // shares, in every change (DESIGN §9). The board's key covers it: the event goes with its
    // board, and row-level security holds its org to the tenant's, whose board it must be.
    org: () => p.manyToOne(Organization).createForeignKeyConstraint(false),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    seq: p.integer(),
    type: p.string().length(40).$type<BoardEventType>(),
    actor: p.json<Actor>(),
    payload: p.json<unknown>(),
    clientMutationId: p.string().length(100).nullable(),
  },
});
export type IBoardEvent = InferEntity<typeof BoardEvent>;

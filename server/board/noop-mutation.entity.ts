import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { Actor, BoardEventType } from '../../shared/wire.js';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { Organization } from '../orgs/organization.entity.js';
import { Project } from '../projects/project.entity.js';

/**
 * A change with a `clientMutationId` that changed nothing, and what it answered: it wrote no
 * event, so without this a retry of it would be judged afresh (and could undo a later change).
 * Kept for a day.
 */
export const NoopMutation = defineEntity({
  name: 'NoopMutation',
  tableName: 'board_noop_mutations',
  filters: tenantFilter,
  uniques: [{ properties: ['project', 'clientMutationId'] }],
  // For the expiry of a board's records (`noopRecord`), which reads only the expired ones.
  indexes: [{ properties: ['project', 'createdAt'] }],
  properties: {
    ...baseProperties,
    // No foreign key to the org, as for tasks (see there): it goes with its board.
    org: () => p.manyToOne(Organization).createForeignKeyConstraint(false),
    project: () => p.manyToOne(Project).deleteRule('cascade'),
    clientMutationId: p.string().length(100),
    type: p.string().length(40).$type<BoardEventType>(),
    answer: p.json<unknown>(),
    /** Who made it; null on records kept from before it was recorded. */
    actor: p.json<Actor>().nullable(),
  },
});
export type INoopMutation = InferEntity<typeof NoopMutation>;

import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { Organization } from '../orgs/organization.entity.js';
import { Project } from './project.entity.js';

export const Column = defineEntity({
  name: 'Column',
  tableName: 'board_columns',
  filters: tenantFilter,
  properties: {
    ...baseProperties,
    // No foreign key to the org, as for tasks (see there): it goes with its board.
    org: () => p.manyToOne(Organization).createForeignKeyConstraint(false),
    project: () => p.manyToOne(Project).deleteRule('cascade').index(),
    name: p.string().length(200),
    /** A fractional key, compared as bytes (`COLLATE "C"`). */
    position: p.string().length(200),
    isDone: p.boolean().default(false),
  },
});
export type IColumn = InferEntity<typeof Column>;

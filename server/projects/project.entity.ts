import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { Organization } from '../orgs/organization.entity.js';
import { User } from '../users/user.entity.js';

export const Project = defineEntity({
  name: 'Project',
  tableName: 'projects',
  filters: tenantFilter,
  properties: {
    ...baseProperties,
    org: () => p.manyToOne(Organization).deleteRule('cascade').index(),
    name: p.string().length(200),
    description: p.text().nullable(),
    status: p.enum(['active', 'archived'] as const).default('active'),
    createdBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
    /** The number of the board's last event; taken with `seq = seq + 1` to order writers. */
    seq: p.integer().default(0),
  },
});
export type IProject = InferEntity<typeof Project>;

import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { ROLES } from '../../shared/roles.js';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { User } from '../users/user.entity.js';
import { Organization } from './organization.entity.js';

export const Membership = defineEntity({
  name: 'Membership',
  tableName: 'memberships',
  filters: tenantFilter,
  uniques: [{ properties: ['org', 'user'] }],
  properties: {
    ...baseProperties,
    org: () => p.manyToOne(Organization).deleteRule('cascade'),
    user: () => p.manyToOne(User).deleteRule('cascade').index(),
    role: p.enum([...ROLES]),
    invitedAt: p.datetime().nullable(),
    joinedAt: p.datetime().nullable(),
  },
});
export type IMembership = InferEntity<typeof Membership>;

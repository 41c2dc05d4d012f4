import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../db/entity-base.js';

export const Organization = defineEntity({
  name: 'Organization',
  tableName: 'organizations',
  properties: {
    ...baseProperties,
    name: p.string().length(200),
    slug: p.string().length(64).unique(),
    plan: p.enum(['free', 'pro', 'enterprise'] as const).default('free'),
    settings: p.json<Record<string, unknown>>().default('{}'),
    billingEmail: p.string().length(320).nullable(),
  },
});
export type IOrganization = InferEntity<typeof Organization>;

import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { Organization } from '../orgs/organization.entity.js';

/** An org's label, such as "bug" in red; names are unique within the org. */
export const Label = defineEntity({
  name: 'Label',
  tableName: 'labels',
  filters: tenantFilter,
  uniques: [{ properties: ['org', 'name'] }],
  properties: {
    ...baseProperties,
    org: () => p.manyToOne(Organization).deleteRule('cascade'),
    name: p.string().length(100),
    /** `#rrggbb`. */
    color: p.string().length(7),
  },
});
export type ILabel = InferEntity<typeof Label>;

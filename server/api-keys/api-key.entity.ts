import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { ApiKeyPermission } from '../../shared/roles.js';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { Organization } from '../orgs/organization.entity.js';
import { User } from '../users/user.entity.js';

/** A bot's credential, bound to one org: `tfk_<prefix>_<secret>`, of which only a SHA-256 is kept. */
export const ApiKey = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  filters: tenantFilter,
  properties: {
    ...baseProperties,
    org: () => p.manyToOne(Organization).deleteRule('cascade').index(),
    name: p.string().length(200),
    prefix: p.string().length(32).unique(),
    keyHash: p.string().length(64).hidden(),
    permissions: p.json<ApiKeyPermission[]>(),
    createdBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
    expiresAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});
export type IApiKey = InferEntity<typeof ApiKey>;

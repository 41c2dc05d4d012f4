import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import type { Actor } from '../../shared/wire.js';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { Organization } from '../orgs/organization.entity.js';

/** One administrative action in an org, written in the transaction that made it. */
export const AuditLog = defineEntity({
  name: 'AuditLog',
  tableName: 'audit_logs',
  filters: tenantFilter,
  indexes: [{ properties: ['org', 'createdAt', 'id'] }],
  properties: {
    ...baseProperties,
    org: () => p.manyToOne(Organization).deleteRule('cascade'),
    actor: p.json<Actor>(),
    action: p.string().length(64),
    entityType: p.string().length(64),
    entityId: p.string().length(64).nullable(),
    details: p.json<Record<string, unknown>>(),
    ip: p.string().length(64).nullable(),
    userAgent: p.string().length(500).nullable(),
  },
});
export type IAuditLog = InferEntity<typeof AuditLog>;

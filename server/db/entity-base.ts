import { randomUUID } from 'node:crypto';
import { p } from '@mikro-orm/core';

/** The columns every entity starts with: a UUID id and its creation time. */
export const baseProperties = {
  id: p
    .uuid()
    .primary()
    .onCreate(() => randomUUID()),
  createdAt: p.datetime().onCreate(() => new Date()),
};

/**
 * The `tenant` filter: on by default, and strict, since a query that runs without the `orgId`
 * parameter throws instead of reading every org (DESIGN §1.2).
 */
export const tenantFilter = {
  tenant: {
    name: 'tenant',
    cond: (args: { orgId: string }) => ({ org: args.orgId }),
    default: true,
  },
};

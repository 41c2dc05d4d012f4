import { randomUUID } from 'node:crypto';
import { p } from '@mikro-orm/core';
import { timeOrderedId } from './time-ordered-id.js';

/** A UUID primary key, made by `make` when the row is. */
const uuidKey = (make: () => string) => p.uuid().primary().onCreate(make);

/** The columns every entity starts with: a UUID id and its creation time. */
export const baseProperties = {
  id: uuidKey(() => randomUUID()),
  createdAt: p.datetime().onCreate(() => new Date()),
};

/** The same, for the rows made most (tasks), with an id that begins with its time (`timeOrderedId`). */
export const timeOrderedBaseProperties = { ...baseProperties, id: uuidKey(() => timeOrderedId()) };

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

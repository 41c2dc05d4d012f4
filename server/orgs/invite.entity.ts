import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { ROLES } from '../../shared/roles.js';
import { baseProperties, tenantFilter } from '../db/entity-base.js';
import { User } from '../users/user.entity.js';
import { Organization } from './organization.entity.js';

/** A pending invitation for an email that has no account yet. */
export const Invite = defineEntity({
  name: 'Invite',
  tableName: 'invites',
  filters: tenantFilter,
  indexes: [{ properties: ['email'] }],
  // One pending invitation per email in an org: inviting it again renews that one.
  uniques: [
    {
      name: 'invites_org_id_email_pending_unique',
      expression: 'create unique index "invites_org_id_email_pending_unique" on "invites" ("org_id", "email") where "accepted_at" is null',
    },
  ],
  properties: {
    ...baseProperties,
    org: () => p.manyToOne(Organization).deleteRule('cascade').index(),
    /** Lower-cased. */
    email: p.string().length(320),
    role: p.enum([...ROLES]),
    /** SHA-256 of the token in the accept link; the token itself is never stored. */
    tokenHash: p.string().length(64).hidden().unique(),
    invitedBy: () => p.manyToOne(User).nullable().deleteRule('set null'),
    expiresAt: p.datetime(),
    acceptedAt: p.datetime().nullable(),
  },
});
export type IInvite = InferEntity<typeof Invite>;

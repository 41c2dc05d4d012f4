import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../db/columns.js';

export const User = defineEntity({
  name: 'User',
  tableName: 'users',
  properties: {
    ...baseProperties,
    /** Stored lower-cased, so uniqueness is case-insensitive. */
    email: p.string().length(320).unique(),
    passwordHash: p.string().hidden(),
    name: p.string().length(200),
    avatarUrl: p.string().length(2000).nullable(),
    emailVerified: p.boolean().default(false),
    isSuperAdmin: p.boolean().default(false),
  },
});
export type IUser = InferEntity<typeof User>;

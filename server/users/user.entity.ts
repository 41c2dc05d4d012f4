import { defineEntity, type InferEntity, p } from '@mikro-orm/core';
import { baseProperties } from '../db/entity-base.js';

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
    /** The user's tokens carry it (`ver`); raising it ends every session signed in before (`account.service.ts`). */
    sessionVersion: p.integer().default(0).hidden(),
    /** SHA-256 of the token in the latest password-reset link, which the mail holds; null once used. */
    passwordResetHash: p.string().length(64).nullable().unique(),
    passwordResetExpiresAt: p.datetime().nullable(),
  },
});
export type IUser = InferEntity<typeof User>;

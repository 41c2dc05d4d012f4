import { LockMode } from '@mikro-orm/core';
import type { ApiKeyPermission } from '../../shared/roles.js';
import type { ApiKeyJson } from '../../shared/wire.js';
import { audit } from '../audit/audit.service.js';
import type { Caller } from '../auth/caller.js';
import type { AppContext } from '../context.js';
import { invalid, notFound } from '../errors.js';
import { stampMaking } from '../orgs/arrival-stamp.js';
import { withOrg } from '../orgs/org-scope.js';
import { userRef } from '../users/user-ref.js';
import { generateKey } from './api-key-secret.js';
import { ApiKey, type IApiKey } from './api-key.entity.js';
import { commitAccessChange } from '../realtime/access-change.js';

/** Creates a bot key for the org; the key itself is in this answer and never again. */
export function createApiKey(
  ctx: AppContext,
  caller: Caller,
  slug: string,
  input: { name: string; permissions: ApiKeyPermission[]; expiresAt?: string },
): Promise<{ apiKey: ApiKeyJson; key: string }> {
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null;
  if (expiresAt && expiresAt <= new Date()) throw invalid('expiresAt must be in the future');
  return withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em, org }) => {
    const { key, prefix, hash } = generateKey();
    const apiKey = em.create(ApiKey, {
      org,
      name: input.name,
      prefix,
      keyHash: hash,
      permissions: [...new Set(input.permissions)],
      createdBy: userRef(em, caller.principal),
      expiresAt,
    });
    await em.flush();
    audit(
      em,
      org.id,
      caller,
      'api_key.created',
      { type: 'api_key', id: apiKey.id },
      { name: apiKey.name, permissions: apiKey.permissions },
    );
    const createdAt = await stampMaking(em, org.id, apiKey.id);
    return { apiKey: { ...toApiKeyJson(apiKey), createdAt: createdAt.toISOString() }, key };
  });
}

export function listApiKeys(ctx: AppContext, caller: Caller, slug: string): Promise<ApiKeyJson[]> {
  return withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em }) => {
    const keys = await em.find(ApiKey, {}, { orderBy: { createdAt: 'asc' } });
    return keys.map(toApiKeyJson);
  });
}

/**
 * Revokes a key: it stops working at once, and its live sockets are sent `access:revoked` and
 * closed. Revoking it again answers the same, logging nothing more; revocations at once queue on
 * the key's row, so one is logged.
 */
export async function revokeApiKey(ctx: AppContext, caller: Caller, slug: string, keyId: string): Promise<void> {
  const orgId = await commitAccessChange(ctx, () =>
    withOrg(ctx, caller.principal, slug, 'org:admin', async ({ em, org }) => {
      const apiKey = await em.findOne(ApiKey, { id: keyId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!apiKey) throw notFound('API key');
      if (!apiKey.revokedAt) {
        apiKey.revokedAt = new Date();
        audit(em, org.id, caller, 'api_key.revoked', { type: 'api_key', id: apiKey.id }, { name: apiKey.name });
      }
      return org.id;
    }),
  );
  ctx.broadcaster.revoke({ keyId }, orgId, 'key_revoked');
}

function toApiKeyJson(apiKey: IApiKey): ApiKeyJson {
  return {
    id: apiKey.id,
    name: apiKey.name,
    prefix: apiKey.prefix,
    permissions: apiKey.permissions,
    createdBy: apiKey.createdBy?.id ?? null,
    createdAt: apiKey.createdAt.toISOString(),
    expiresAt: apiKey.expiresAt?.toISOString() ?? null,
    lastUsedAt: apiKey.lastUsedAt?.toISOString() ?? null,
    revokedAt: apiKey.revokedAt?.toISOString() ?? null,
  };
}

import type { BotPrincipal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { identityEm } from '../db/tenant.js';
import { unauthorized } from '../errors.js';
import { keyMatches, keyPrefix } from './api-key-secret.js';
import { ApiKey } from './api-key.entity.js';

const TOUCH_EVERY_MS = 60_000;

/**
 * The bot behind an API key, and when the key expires (epoch seconds, or null). A key that is
 * malformed, unknown, revoked or expired is UNAUTHORIZED, with one message for all of them.
 * `last_used_at` is written at most once a minute per key.
 */
export async function authenticateApiKey(ctx: AppContext, key: unknown): Promise<{ principal: BotPrincipal; expiresAt: number | null }> {
  const prefix = typeof key === 'string' && key.length < 200 ? keyPrefix(key) : null;
  if (!prefix) throw unauthorized('invalid API key');
  const em = identityEm(ctx.orm);
  const apiKey = await em.findOne(ApiKey, { prefix }, { filters: { tenant: false } });
  const now = new Date();
  if (!apiKey || !keyMatches(key as string, apiKey.keyHash) || apiKey.revokedAt || (apiKey.expiresAt && apiKey.expiresAt <= now)) {
    throw unauthorized('invalid API key');
  }
  if (!apiKey.lastUsedAt || now.getTime() - apiKey.lastUsedAt.getTime() >= TOUCH_EVERY_MS) {
    await em
      .getConnection()
      .execute(`update api_keys set last_used_at = ? where id = ? and revoked_at is null and (last_used_at is null or last_used_at < ?)`, [
        now,
        apiKey.id,
        new Date(now.getTime() - TOUCH_EVERY_MS),
      ]);
  }
  return {
    principal: { kind: 'bot', keyId: apiKey.id, orgId: apiKey.org.id, name: apiKey.name, permissions: apiKey.permissions },
    expiresAt: apiKey.expiresAt ? Math.ceil(apiKey.expiresAt.getTime() / 1000) : null,
  };
}

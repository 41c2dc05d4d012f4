import { authenticateApiKey } from '../api-keys/api-key-auth.js';
import type { AppContext } from '../context.js';
import { authenticateToken } from './auth.service.js';
import type { Principal } from './principal.js';

/** What a client presents: a user's JWT, or a bot's API key (over HTTP both come as a bearer token). */
export interface Credential {
  token?: unknown;
  apiKey?: unknown;
}

/** The principal behind a credential, and when it expires (epoch seconds; null: with the key's revocation only). */
export async function authenticate(ctx: AppContext, credential: Credential): Promise<{ principal: Principal; expiresAt: number | null }> {
  if (credential.apiKey !== undefined) return authenticateApiKey(ctx, credential.apiKey);
  if (typeof credential.token === 'string' && credential.token.startsWith('tfk_')) return authenticateApiKey(ctx, credential.token);
  return authenticateToken(ctx, credential.token);
}

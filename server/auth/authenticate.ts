import { authenticateApiKey } from '../api-keys/api-key-auth.js';
import type { AppContext } from '../context.js';
import { unauthorized } from '../errors.js';
import { authenticateToken } from './auth.service.js';
import type { Principal } from './principal.js';

/** What a client presents: a user's JWT, or a bot's API key (over HTTP both come as a bearer token). */
export interface Credential {
  token?: unknown;
  apiKey?: unknown;
}

export interface Authenticated {
  principal: Principal;
  /** Epoch seconds; null: the credential lasts until the key is revoked. */
  expiresAt: number | null;
  /** The orgs the principal belongs to: a user's memberships, a bot's one org. */
  orgIds: string[];
}

/** The principal behind a credential, when it expires, and the orgs it belongs to. */
export async function authenticate(ctx: AppContext, credential: Credential): Promise<Authenticated> {
  // One credential a handshake: of two, one would be judged and the other ignored, a bad one too.
  // (A field left null is none, as a client that fills its unused one with null sends.)
  const sent = (value: unknown) => value !== undefined && value !== null;
  if (sent(credential.token) && sent(credential.apiKey)) throw unauthorized('send a token or an API key, not both');
  if (!sent(credential.token) && !sent(credential.apiKey))
    throw unauthorized('no credential: connect with auth { token } (a user) or { apiKey } (a bot)');
  const apiKey =
    credential.apiKey ?? (typeof credential.token === 'string' && credential.token.startsWith('tfk_') ? credential.token : undefined);
  if (apiKey === undefined) return authenticateToken(ctx, credential.token);
  const bot = await authenticateApiKey(ctx, apiKey);
  return { ...bot, orgIds: [bot.principal.orgId] };
}

import { type ApiKeyPermission, KEY_PERMISSION } from '../../shared/roles.js';
import type { Actor } from '../../shared/wire.js';
import { forbidden } from '../errors.js';

/** A person, from a verified token. Where they act comes with each request. */
export interface UserPrincipal {
  kind: 'user';
  userId: string;
  name: string;
  isSuperAdmin: boolean;
  /** The user's session version its token carries: ending the user's sessions raises it (`account.service.ts`). */
  sessionVersion: number;
}

/** A bot, from an API key: bound to the key's org, limited to the key's permissions. */
export interface BotPrincipal {
  kind: 'bot';
  keyId: string;
  orgId: string;
  name: string;
  permissions: ApiKeyPermission[];
}

export type Principal = UserPrincipal | BotPrincipal;

/** How a principal appears in board events and the audit log. */
export function actorOf(principal: Principal): Actor {
  return principal.kind === 'user'
    ? { kind: 'user', id: principal.userId, name: principal.name }
    : { kind: 'bot', id: principal.keyId, name: principal.name };
}

/**
 * Whether what the org's boards hold may be shown to the principal: every member's role reads
 * them; a bot needs its key's `boards:read`. The permissions its credential carries are the key's:
 * no route changes a key's.
 */
export function readsBoards(principal: Principal): boolean {
  return principal.kind === 'user' || principal.permissions.includes(KEY_PERMISSION['board:read']!);
}

/** The user behind a principal, for what only people may do (sign-in, orgs, members). */
export function requireUser(principal: Principal): UserPrincipal {
  if (principal.kind !== 'user') throw forbidden('an API key cannot do this');
  return principal;
}

/** The user id to record as author, or null for a bot. */
export function authorId(principal: Principal): string | null {
  return principal.kind === 'user' ? principal.userId : null;
}

import { useSyncExternalStore } from 'react';

const TOKEN_KEY = 'taskflow.token';
/** Why the session last ended, when the user did not sign out themselves: for the sign-in form, and the other tabs. */
const REASON_KEY = 'taskflow.signedOutReason';
/**
 * Refresh once less than this share of the token's lifetime is left: at least a minute before it
 * ends, but never in the first half of its life.
 */
const REFRESH_SHARE = 0.25;
/** After a refresh that failed for now (a 5xx, the network down), how long until the next try, at most. */
const RETRY_MS = 5000;

type Listener = () => void;
const listeners = new Set<Listener>();
let refreshing: Promise<string> | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;
let expiry: ReturnType<typeof setTimeout> | undefined;

/**
 * Why this tab was signed out, when it was not the user's doing: `ended`, the server refused the
 * session (a password changed, every session signed out, the account deleted, elsewhere);
 * `expired`, the token ran out with no refresh through (the server away). Null after a sign-out of
 * the user's own, and once signed in again.
 */
export type SignedOutReason = 'ended' | 'expired';
let signedOutReason: SignedOutReason | null = null;

function notify(): void {
  for (const listener of listeners) listener();
}

/** The `sub`, `exp` and `iat` claims of a JWT (times in seconds); null when it cannot be read. */
function claims(token: string): { sub: string; exp: number; iat: number } | null {
  try {
    const body = token.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/');
    const { sub, exp, iat } = JSON.parse(atob(body)) as { sub?: string; exp?: number; iat?: number };
    return typeof exp === 'number' && typeof sub === 'string' ? { sub, exp, iat: iat ?? exp - 3600 } : null;
  } catch {
    return null;
  }
}

/** Milliseconds until the token should be refreshed (negative: now), or until it expires when `hard`. */
function msUntilRefresh(token: string): number {
  const c = claims(token);
  if (!c) return Infinity;
  const lifetime = c.exp - c.iat;
  const margin = Math.min(Math.max(60, lifetime * REFRESH_SHARE), lifetime / 2);
  return (c.exp - margin) * 1000 - Date.now();
}

function isExpired(token: string): boolean {
  const c = claims(token);
  return c !== null && c.exp * 1000 <= Date.now();
}

/**
 * Refreshes the token again shortly before it runs out, so an idle tab stays signed in; and signs
 * out once it has run out unrefreshed (the server away past its end): the page shows the sign-in
 * form, where it stayed on a board it could no longer reach, offline for good, its calls sent
 * with no token and refused.
 */
function schedule(): void {
  clearTimeout(timer);
  clearTimeout(expiry);
  const token = session.token();
  if (!token) return;
  refreshIn(Math.min(Math.max(msUntilRefresh(token), 1000), 2 ** 31 - 1));
  const c = claims(token);
  if (c) expiry = setTimeout(() => session.ended(token), Math.min(Math.max(c.exp * 1000 - Date.now(), 0) + 100, 2 ** 31 - 1));
}

/** Refreshes the token in `ms`, in place of any refresh planned before. */
function refreshIn(ms: number): void {
  clearTimeout(timer);
  timer = setTimeout(() => void session.freshToken().catch(() => undefined), ms);
}

/** Tries the refresh again soon: an idle tab makes no other call that would, and its token would run out. */
function retrySoon(): void {
  const c = claims(session.token() ?? '');
  const left = c ? c.exp * 1000 - Date.now() : 0;
  refreshIn(Math.min(RETRY_MS, Math.max(500, left / 3)));
}

/**
 * The signed-in user's token, kept in localStorage (so a reload, or another tab, stays signed in)
 * and refreshed with `POST /auth/refresh` before it expires. A token that cannot be refreshed
 * signs the user out: they sign in again.
 */
export const session = {
  token(): string | null {
    const token = localStorage.getItem(TOKEN_KEY);
    return token && !isExpired(token) ? token : null; // '' or expired: nobody
  },

  signIn(token: string): void {
    signedOutReason = null;
    localStorage.removeItem(REASON_KEY);
    localStorage.setItem(TOKEN_KEY, token);
    schedule();
    notify();
  },

  /** Signs out: the user's own doing, unless a `reason` says otherwise (the sign-in form then says why). */
  signOut(reason: SignedOutReason | null = null): void {
    signedOutReason = reason;
    // Written before the token goes, so that another tab told of it reads why.
    if (reason) localStorage.setItem(REASON_KEY, reason);
    else localStorage.removeItem(REASON_KEY);
    localStorage.removeItem(TOKEN_KEY);
    clearTimeout(timer);
    clearTimeout(expiry);
    notify();
  },

  /**
   * The server refused `token` (401), or it ran out unrefreshed: signs out, for the reason that its
   * end has passed (`expired`) or not (`ended`), unless the session holds another token by now (a refresh, or a password changed in this tab or another,
   * whose answer came meanwhile).
   */
  ended(token: string): void {
    if (localStorage.getItem(TOKEN_KEY) !== token) return;
    // A token past its end is refused for that (by the server too, which may say so first), not for an ended session.
    const expired = (claims(token)?.exp ?? Infinity) * 1000 <= Date.now();
    session.signOut(expired ? 'expired' : 'ended');
  },

  /** Why this tab was last signed out, if not by the user (see `SignedOutReason`). */
  signedOutReason(): SignedOutReason | null {
    return signedOutReason;
  },

  subscribe(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },

  /** A token good for a while yet: the stored one, or a refreshed one when it is close to expiry. */
  freshToken(): Promise<string> {
    const token = session.token();
    if (!token) return Promise.reject(new Error('signed out'));
    if (msUntilRefresh(token) > 0) return Promise.resolve(token);
    refreshing ??= fetch('/api/v1/auth/refresh', { method: 'POST', headers: { authorization: `Bearer ${token}` } })
      .then(
        async (response) => {
          if (response.status === 401) {
            session.ended(token);
            throw new Error('the session ended; sign in again');
          }
          if (!response.ok) {
            retrySoon(); // the current one still works meanwhile
            return token;
          }
          const { token: fresh } = (await response.json()) as { token: string };
          // Another token came meanwhile (a password changed in this tab or another, whose
          // answer may end the session this refresh was of): that one is kept.
          const held = localStorage.getItem(TOKEN_KEY);
          if (held && held !== token) return held;
          localStorage.setItem(TOKEN_KEY, fresh);
          schedule();
          return fresh;
        },
        () => {
          retrySoon(); // the network failed: the current one still works meanwhile
          return token;
        },
      )
      .finally(() => {
        refreshing = null;
      });
    return refreshing;
  },
};

window.addEventListener('storage', (event) => {
  if (event.key !== TOKEN_KEY) return;
  // Signed out in another tab: for the reason it was, or none when the user signed out there.
  if (event.newValue === null) signedOutReason = readReason();
  schedule();
  notify();
});
schedule();

function readReason(): SignedOutReason | null {
  const stored = localStorage.getItem(REASON_KEY);
  return stored === 'ended' || stored === 'expired' ? stored : null;
}

/** The id of the signed-in user (null: nobody), re-rendering on sign-in and sign-out, in this tab or another. */
export function useSignedInUserId(): string | null {
  return useSyncExternalStore(session.subscribe, () => {
    const token = session.token();
    return token ? (claims(token)?.sub ?? null) : null;
  });
}

/** Why this tab was last signed out, if not by the user, re-rendering as it changes. */
export function useSignedOutReason(): SignedOutReason | null {
  return useSyncExternalStore(session.subscribe, session.signedOutReason);
}

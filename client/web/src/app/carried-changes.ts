import { useSyncExternalStore } from 'react';
import type { UnacknowledgedChange } from '../../../index.js';
import { askBeforeLeavingWhile } from './leave-guard.js';

/**
 * Changes the page's client left unacknowledged as it closed, signed out not by the user (the
 * session ran out while the connection was away, say; a sign-out of the user's own rejects them,
 * each told), kept for the same user's next client in this page: signed in again,
 * it sends them, with their own `clientMutationId`s, and the screens that made them hear how each
 * went (a refusal's notice, say). Someone else signing in drops them. They live
 * in this page only: leaving it meanwhile asks first, as it does while changes wait.
 */
let carried: { userId: string; changes: UnacknowledgedChange[] } | null = null;
const listeners = new Set<() => void>();

function set(next: typeof carried): void {
  carried = next;
  for (const listener of listeners) listener();
}

/** Keeps `changes` for `userId`'s next client (after any kept before for them, in order; another's are dropped). */
export function carryChanges(userId: string, changes: UnacknowledgedChange[]): void {
  if (changes.length === 0) return;
  set({ userId, changes: carried?.userId === userId ? [...carried.changes, ...changes] : changes });
}

/**
 * The changes kept for `userId`, now theirs to send; none for anyone else, whose sign-in drops
 * them. Dropped, their promises are left unsettled: the screens that made them are gone, and
 * their notices would show the other account's cards to whoever signed in.
 */
export function takeCarriedChanges(userId: string): UnacknowledgedChange[] {
  const kept = carried;
  if (!kept) return [];
  set(null);
  return kept.userId === userId ? kept.changes : [];
}

/** How many changes wait for their user to sign in again, re-rendering as that changes. */
export function useCarriedChangeCount(): number {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => carried?.changes.length ?? 0,
  );
}

askBeforeLeavingWhile(() => carried !== null);

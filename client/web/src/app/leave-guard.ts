import { useEffect, useRef } from 'react';
import type { TaskFlowClient } from '../../../index.js';
import { askBeforeHistoryMoves } from './router.js';

/** The forms (card dialogs) holding changes not yet saved, each by a token of its own. */
const unsavedForms = new Set<object>();

/** Marks a form as holding unsaved changes while `unsaved` is true, so that leaving the page asks first. */
export function useUnsavedForm(unsaved: boolean): void {
  const token = useRef({});
  useEffect(() => {
    if (!unsaved) return;
    const mark = token.current;
    unsavedForms.add(mark);
    return () => void unsavedForms.delete(mark);
  }, [unsaved]);
}

/**
 * While a form holds unsaved changes, or changes wait for the server (the connection away), closing
 * the tab, reloading or leaving the site asks first, on whatever page the user is: those changes
 * live only in this page, and go with it. (Moving between the app's own pages keeps the changes
 * that wait: the client stays. A card dialog's are asked for, below.)
 */
export function useLeaveGuard(client: TaskFlowClient | null): void {
  useEffect(() => askBeforeLeavingWhile(() => unsavedForms.size > 0 || !!client?.unacknowledged), [client]);
}

/** What makes closing the tab, reloading or leaving the site ask first: each a check of its own. */
const reasonsToStay = new Set<() => boolean>();

/** Makes leaving the page ask first while `holds()` is true; answers how to stop. */
export function askBeforeLeavingWhile(holds: () => boolean): () => void {
  reasonsToStay.add(holds);
  return () => void reasonsToStay.delete(holds);
}

// The browser's Back or Forward, within the app, would drop a card dialog's changes as surely.
askBeforeHistoryMoves(() => unsavedForms.size === 0 || window.confirm('Leave this page? Your changes to the card are not saved.'));

window.addEventListener('beforeunload', (event) => {
  if (![...reasonsToStay].some((holds) => holds())) return;
  event.preventDefault();
  event.returnValue = ''; // what older browsers need to ask
});

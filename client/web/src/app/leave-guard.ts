import { useEffect, useRef, useState } from 'react';
import type { TaskFlowClient } from '../../../index.js';

/** The card dialogs open with changes not yet saved, each by a token of its own. */
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

/** How many of the client's changes are not yet acknowledged, re-rendering as that changes. */
export function useUnacknowledged(client: TaskFlowClient | null): number {
  const [count, setCount] = useState(client?.unacknowledged ?? 0);
  useEffect(() => {
    if (!client) return;
    setCount(client.unacknowledged);
    return client.on('unacknowledged', setCount);
  }, [client]);
  return client ? count : 0;
}

/**
 * While a form holds unsaved changes, or changes wait to be sent (the connection away), closing
 * the tab, reloading or leaving the site asks first: those changes live only in this page, and go
 * with it. (Moving between the board's own pages keeps them: the client stays.)
 */
export function useLeaveGuard(client: TaskFlowClient | null): void {
  useEffect(() => {
    const ask = (event: BeforeUnloadEvent) => {
      if (unsavedForms.size === 0 && !client?.unacknowledged) return;
      event.preventDefault();
      event.returnValue = ''; // what older browsers need to ask
    };
    window.addEventListener('beforeunload', ask);
    return () => window.removeEventListener('beforeunload', ask);
  }, [client]);
}

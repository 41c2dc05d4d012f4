import { useSyncExternalStore } from 'react';

export interface Notice {
  id: number;
  kind: 'error' | 'info';
  text: string;
}

let notices: Notice[] = [];
let nextId = 1;
const listeners = new Set<() => void>();
const LIFETIME_MS = 10_000;

function set(next: Notice[]): void {
  notices = next;
  for (const listener of listeners) listener();
}

/** Shows a short message at the bottom of the page; errors stay until dismissed or replaced by time. */
export function notify(text: string, kind: Notice['kind'] = 'error'): void {
  const notice = { id: nextId++, kind, text };
  set([...notices.slice(-4), notice]);
  setTimeout(() => dismiss(notice.id), LIFETIME_MS);
}

export function dismiss(id: number): void {
  if (notices.some((notice) => notice.id === id)) set(notices.filter((notice) => notice.id !== id));
}

export function useNotices(): Notice[] {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => notices,
  );
}

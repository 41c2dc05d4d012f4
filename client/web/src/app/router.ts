import { type AnchorHTMLAttributes, createElement, type MouseEvent, useSyncExternalStore } from 'react';

const NAVIGATED = 'taskflow:navigated';

/** Where the page shown is in the tab's history, counted from the app's first page (kept in each entry's state). */
let position: number = positionOf(history.state);

function positionOf(state: unknown): number {
  return (state as { position?: number } | null)?.position ?? 0;
}

/** Changes the page without a reload (the server answers every page with the same app). */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (options.replace) history.replaceState({ position }, '', to);
  else history.pushState({ position: ++position }, '', to);
  window.dispatchEvent(new Event(NAVIGATED));
}

/** Whether the browser's Back or Forward may leave the page shown; asked as it is pressed. */
let mayLeave = (): boolean => true;

/** Sets the question the browser's Back and Forward ask first; answered no, the page stays as it was. */
export function askBeforeHistoryMoves(ask: () => boolean): void {
  mayLeave = ask;
}

// Registered as the module loads, before any screen follows the address: a move answered no is
// stopped here, where no screen sees it, and undone (`returningTo`: the entry it goes back to).
let returningTo: number | null = null;
window.addEventListener('popstate', (event) => {
  const to = positionOf(history.state);
  const returned = to === returningTo;
  returningTo = null;
  if (returned) return void event.stopImmediatePropagation();
  if (to === position || mayLeave()) {
    position = to;
    return;
  }
  event.stopImmediatePropagation();
  returningTo = position;
  history.go(position - to);
});

function subscribe(listener: () => void): () => void {
  window.addEventListener('popstate', listener);
  window.addEventListener(NAVIGATED, listener);
  return () => {
    window.removeEventListener('popstate', listener);
    window.removeEventListener(NAVIGATED, listener);
  };
}

/** The current path, re-rendering on navigation. */
export function usePath(): string {
  return useSyncExternalStore(subscribe, () => location.pathname);
}

export type Route =
  | { name: 'home' }
  | { name: 'invite' }
  | { name: 'account' }
  | { name: 'reset-password' }
  | { name: 'new-org' }
  | { name: 'projects'; slug: string }
  | { name: 'members'; slug: string }
  | { name: 'settings'; slug: string }
  | { name: 'board'; slug: string; projectId: string }
  | { name: 'not-found' };

/** The screen a path names. */
export function matchRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { name: 'home' };
  if (parts.length === 1 && (parts[0] === 'invite' || parts[0] === 'account' || parts[0] === 'reset-password')) return { name: parts[0] };
  if (parts[0] !== 'orgs' || parts.length < 2) return { name: 'not-found' };
  if (parts.length === 2) return parts[1] === 'new' ? { name: 'new-org' } : { name: 'projects', slug: parts[1]! };
  if (parts.length === 3 && (parts[2] === 'members' || parts[2] === 'settings')) return { name: parts[2], slug: parts[1]! };
  if (parts.length === 4 && parts[2] === 'projects') return { name: 'board', slug: parts[1]!, projectId: parts[3]! };
  return { name: 'not-found' };
}

export const paths = {
  projects: (slug: string) => `/orgs/${encodeURIComponent(slug)}`,
  members: (slug: string) => `/orgs/${encodeURIComponent(slug)}/members`,
  settings: (slug: string) => `/orgs/${encodeURIComponent(slug)}/settings`,
  board: (slug: string, projectId: string) => `/orgs/${encodeURIComponent(slug)}/projects/${projectId}`,
  newOrg: () => '/orgs/new',
  account: () => '/account',
};

/** A link that navigates in the app (a modified click still opens a new tab). */
export function Link({ to, ...props }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    props.onClick?.(event);
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return createElement('a', { ...props, href: to, onClick });
}

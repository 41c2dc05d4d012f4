import { type AnchorHTMLAttributes, createElement, type MouseEvent, useSyncExternalStore } from 'react';

const NAVIGATED = 'taskflow:navigated';

/** The address of the page shown: put back when the browser's Back or Forward away from it is refused. */
let shown = location.href;

/** Changes the page without a reload (the server answers every page with the same app). */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  shown = location.href;
  window.dispatchEvent(new Event(NAVIGATED));
}

/** Changes the page's address where it stands (its query, say), adding nothing to the tab's history. */
export function replaceAddress(to: string): void {
  history.replaceState(history.state, '', to);
  shown = location.href;
}

/** Whether the browser's Back or Forward may leave the page shown; asked as it is pressed. */
let mayLeave = (): boolean => true;

/** Sets the question the browser's Back and Forward ask before they leave the page shown; answered no, it stays as it was. */
export function askBeforeHistoryMoves(ask: () => boolean): void {
  mayLeave = ask;
}

// Registered as the module loads, before any screen follows the address. A move within the page
// (a `#` link's entry) asks nothing. One refused is stopped here, where no screen sees it, and the
// page's address is put back at once, as a new entry: the page is never left, not even for a
// moment (a Forward the user had is lost with it).
window.addEventListener('popstate', (event) => {
  if (new URL(shown).pathname === location.pathname || mayLeave()) {
    shown = location.href;
    return;
  }
  event.stopImmediatePropagation();
  history.pushState(null, '', shown);
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

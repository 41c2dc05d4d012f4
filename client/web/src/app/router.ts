import { type AnchorHTMLAttributes, createElement, type MouseEvent, useSyncExternalStore } from 'react';

const NAVIGATED = 'taskflow:navigated';

/** Changes the page without a reload (the server answers every page with the same app). */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new Event(NAVIGATED));
}

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

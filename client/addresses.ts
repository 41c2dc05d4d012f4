import { TaskFlowError } from './errors.js';

/** An address's origin and path, or null for one socket.io-client would complete (a path alone, in a page). */
function originAndPath(url: string): { origin: string; pathname: string } | null {
  try {
    const { origin, pathname } = new URL(url);
    return origin === 'null' ? null : { origin, pathname };
  } catch {
    return null;
  }
}

/** Whether an address names a path past its origin's root (one socket.io-client would complete is judged by the server). */
export function hasPath(url: string): boolean {
  const parts = originAndPath(url);
  return parts !== null && parts.pathname !== '/' && parts.pathname !== '';
}

/**
 * Why an address cannot reach the server (`NOT_FOUND`): it has a path (the HTTP API's `/api/v1`,
 * say), which socket.io reads as a namespace, and the server has none but its root. Named by its
 * origin and path only: what else it holds (a password, a query) stays out of the message; an
 * address socket.io completed is named "that address", as the page's origin reads it.
 */
export function noServerAt(url: string): TaskFlowError {
  const parts = originAndPath(url);
  const [where, instead] = parts ? [`${parts.origin}${parts.pathname}`, ` (${parts.origin})`] : ['that address', ''];
  return new TaskFlowError({
    code: 'NOT_FOUND',
    message: `no TaskFlow socket server at ${where}: give the server's address without a path${instead}; socket.io reads a path as a namespace`,
  });
}

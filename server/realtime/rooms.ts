import { type Principal, readsBoards } from '../auth/principal.js';

/** Room names, chosen by the server only (DESIGN §7). */
export const orgRoom = (orgId: string) => `org:${orgId}`;
export const projectRoom = (orgId: string, projectId: string) => `org:${orgId}:project:${projectId}`;
/** The board whose room this is, if it is a board's. */
export function boardOfRoom(room: string): { orgId: string; projectId: string } | undefined {
  const [org, orgId, project, projectId, ...rest] = room.split(':');
  return org === 'org' && project === 'project' && orgId && projectId && rest.length === 0 ? { orgId, projectId } : undefined;
}
export const userRoom = (userId: string) => `user:${userId}`;
/** The user whose private room this is, if it is a user's. */
export const userOfRoom = (room: string): string | undefined => (room.startsWith('user:') ? room.slice('user:'.length) : undefined);
export const keyRoom = (keyId: string) => `key:${keyId}`;

/** The private room of a principal's sockets: the user's, or the API key's. */
export const principalRoom = (principal: Principal) => (principal.kind === 'user' ? userRoom(principal.userId) : keyRoom(principal.keyId));

/**
 * The org rooms a socket hears `org:event`s in: a user's every org; a bot's only with
 * `boards:read`, since the events name the org's projects and members.
 */
export function orgRoomsOf(principal: Principal, orgIds: string[]): string[] {
  return readsBoards(principal) ? orgIds.map(orgRoom) : [];
}

/** The orgs whose rooms (the org's, or a board's in it) are among `rooms`. */
export function orgsOfRooms(rooms: Iterable<string>): string[] {
  const orgs = new Set<string>();
  for (const room of rooms) if (room.startsWith('org:')) orgs.add(room.split(':')[1]!);
  return [...orgs];
}

import type { Principal } from '../auth/principal.js';

/** Room names, chosen by the server only (DESIGN §7). */
export const orgRoom = (orgId: string) => `org:${orgId}`;
export const projectRoom = (orgId: string, projectId: string) => `org:${orgId}:project:${projectId}`;
export const userRoom = (userId: string) => `user:${userId}`;
export const keyRoom = (keyId: string) => `key:${keyId}`;

/** The private room of a principal's sockets: the user's, or the API key's. */
export const principalRoom = (principal: Principal) => (principal.kind === 'user' ? userRoom(principal.userId) : keyRoom(principal.keyId));

/** Room names, chosen by the server only (DESIGN §7). */
export const orgRoom = (orgId: string) => `org:${orgId}`;
export const projectRoom = (orgId: string, projectId: string) => `org:${orgId}:project:${projectId}`;
export const userRoom = (userId: string) => `user:${userId}`;

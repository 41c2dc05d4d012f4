import type { Broadcaster } from '../context.js';
import { orgRoom, projectRoom, userRoom } from './rooms.js';
import type { TaskFlowServer } from './types.js';

/** Emits committed facts to rooms, across every node through the adapter. */
export function createBroadcaster(io: TaskFlowServer): Broadcaster {
  return {
    boardEvent(orgId, event, exceptSocketId) {
      const room = io.to(projectRoom(orgId, event.projectId));
      (exceptSocketId ? room.except(exceptSocketId) : room).emit('board:event', event);
    },
    orgEvent(orgId, type, data) {
      io.to(orgRoom(orgId)).emit('org:event', { orgId, type, data });
    },
    joinOrg(userId, orgId) {
      io.in(userRoom(userId)).socketsJoin(orgRoom(orgId));
    },
  };
}

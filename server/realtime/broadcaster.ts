import type { Broadcaster } from '../context.js';
import { keyRoom, orgRoom, projectRoom, userRoom } from './rooms.js';
import type { RevokeOrder, TaskFlowServer } from './types.js';

/** Emits committed facts to rooms, across every node through the adapter (`clustered`: the Redis one). */
export function createBroadcaster(io: TaskFlowServer, clustered: boolean): Broadcaster {
  // Each node applies a revocation to its own sockets: the order reaches the others through the
  // adapter (and, should Redis lose it, every join and mutation re-checks the database anyway).
  io.on('revoke', (order) => void revokeLocally(io, order));

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
    revoke(who, orgId, reason) {
      const room = 'userId' in who ? userRoom(who.userId) : 'keyId' in who ? keyRoom(who.keyId) : orgRoom(orgId);
      const order: RevokeOrder = { room, orgId, reason, disconnect: 'keyId' in who };
      void revokeLocally(io, order);
      if (clustered) io.serverSideEmit('revoke', order);
    },
  };
}

async function revokeLocally(io: TaskFlowServer, { room, orgId, reason, disconnect }: RevokeOrder): Promise<void> {
  const prefix = orgRoom(orgId);
  for (const socket of await io.local.in(room).fetchSockets()) {
    for (const joined of socket.rooms) if (joined === prefix || joined.startsWith(`${prefix}:`)) socket.leave(joined);
    socket.data.orgIds = socket.data.orgIds.filter((id) => id !== orgId);
    socket.emit('access:revoked', { orgId, reason });
    if (disconnect) socket.disconnect(true);
  }
}

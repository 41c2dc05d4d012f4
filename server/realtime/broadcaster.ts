import type { Broadcaster, RevokedParty } from '../context.js';
import type { OrgEventJson } from '../../shared/wire.js';
import type { Presence } from '../presence/presence.js';
import type { AccessOrders } from './access-orders.js';
import { keyRoom, orgRoom, projectRoom, userRoom } from './rooms.js';
import type { RevokeOrder, TaskFlowServer } from './types.js';

/** Emits committed facts to rooms, across every node through the adapter (`clustered`: the Redis one). */
export function createBroadcaster(io: TaskFlowServer, accessOrders: AccessOrders, presence: Presence, clustered: boolean): Broadcaster {
  // Each node applies a revocation to its own sockets: the order reaches the others through the
  // adapter (and, should Redis lose it, every join and mutation re-checks the database anyway).
  io.on('revoke', (order) => {
    if (namesARoom(order)) void accessOrders.revoke(order);
  });
  io.on('admit', (order) => {
    if (namesARoom(order)) accessOrders.admit(order);
  });

  return {
    boardEvent(orgId, event, exceptSocketId) {
      const room = projectRoom(orgId, event.projectId);
      (exceptSocketId ? io.to(room).except(exceptSocketId) : io.to(room)).emit('board:event', event);
      // A card deleted is edited by no one: the board's list no longer names it as someone's.
      if (event.type === 'task.deleted') presence.taskGone(room, (event.data as { taskId: string }).taskId);
    },
    orgEvent(orgId, type, data) {
      io.to(orgRoom(orgId)).emit('org:event', { orgId, type, data } as OrgEventJson);
    },
    joinOrg(userId, orgId) {
      // This node's sockets at once, so they hear the org event that follows; the adapter's
      // cluster-wide join publishes first and applies here only after. The other nodes are told
      // too, for their sockets in their handshake (a node of an older build ignores it).
      const order = { room: userRoom(userId), admitTo: orgId };
      accessOrders.admit(order);
      io.in(order.room).socketsJoin(orgRoom(orgId));
      if (clustered) io.serverSideEmit('admit', order);
    },
    revoke(who, orgId, reason) {
      send({ room: revokedRoom(who, orgId), orgId, reason }, 'socketId' in who);
    },
    endSessions(who, sessionVersion) {
      const room = 'userId' in who ? userRoom(who.userId) : who.socketId;
      send({ room, orgId: null, reason: 'signed_out', sessionVersion }, 'socketId' in who);
    },
  };

  function send(order: RevokeOrder, forOneSocket: boolean): void {
    void accessOrders.revoke(order, forOneSocket);
    if (clustered && !forOneSocket) io.serverSideEmit('revoke', order);
  }
}

/** Whether an order that came through the adapter has the shape of one, a room to apply it to: a shape check, not of who sent it. */
function namesARoom(order: unknown): boolean {
  return typeof (order as { room?: unknown } | null)?.room === 'string';
}

function revokedRoom(who: RevokedParty, orgId: string): string {
  if ('userId' in who) return userRoom(who.userId);
  if ('keyId' in who) return keyRoom(who.keyId);
  if ('socketId' in who) return who.socketId; // every socket is in a room of its own id
  return orgRoom(orgId);
}

import type { Broadcaster, RevokedParty } from '../context.js';
import type { OrgEventJson } from '../../shared/wire.js';
import type { Presence } from '../presence/presence.js';
import type { AccessOrders } from './access-orders.js';
import type { AccessRelay } from './access-relay.js';
import { keyRoom, orgRoom, projectRoom, userRoom } from './rooms.js';
import type { RevokeOrder, TaskFlowServer } from './types.js';

/**
 * Emits committed facts to rooms, across every node through the adapter; changes of access are
 * applied to this node's sockets, and `relay` (null on a node alone) tells the other nodes.
 */
export function createBroadcaster(
  io: TaskFlowServer,
  accessOrders: AccessOrders,
  presence: Presence,
  relay: AccessRelay | null,
  /** The access sweep of this node (`accessSweep`). */
  sweepHere: () => void,
): Broadcaster {
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
      relay?.admit(order);
    },
    revoke(who, orgId, reason) {
      send({ room: revokedRoom(who, orgId), orgId, reason }, 'socketId' in who);
    },
    endSessions(who, sessionVersion) {
      const room = 'userId' in who ? userRoom(who.userId) : who.socketId;
      send({ room, orgId: null, reason: 'signed_out', sessionVersion }, 'socketId' in who);
    },
    accessUnsure() {
      if (relay) relay.sweep();
      else sweepHere();
    },
  };

  function send(order: RevokeOrder, forOneSocket: boolean): void {
    void accessOrders.revoke(order, forOneSocket);
    if (!forOneSocket) relay?.revoke(order);
  }
}

function revokedRoom(who: RevokedParty, orgId: string): string {
  if ('userId' in who) return userRoom(who.userId);
  if ('keyId' in who) return keyRoom(who.keyId);
  if ('socketId' in who) return who.socketId; // every socket is in a room of its own id
  return orgRoom(orgId);
}

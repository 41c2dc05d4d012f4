import type { Presence } from '../presence/presence.js';
import { orgRoom } from './rooms.js';
import type { RevokeOrder, TaskFlowServer } from './types.js';

/**
 * Applies a revocation to this node's sockets in `order.room`: they leave the org's room and its
 * boards' rooms, are sent `access:revoked`, and a dead key's sockets are closed. The boards
 * they left hear the new presence.
 */
export async function revokeLocally(io: TaskFlowServer, presence: Presence, { room, orgId, reason }: RevokeOrder): Promise<void> {
  const prefix = orgRoom(orgId);
  for (const socket of await io.local.in(room).fetchSockets()) {
    const left = [...socket.rooms].filter((joined) => joined === prefix || joined.startsWith(`${prefix}:`));
    if (left.length === 0 && !socket.data.orgIds.includes(orgId)) continue;
    for (const joined of left) socket.leave(joined);
    socket.data.orgIds = socket.data.orgIds.filter((id) => id !== orgId);
    (socket.data.revokedFrom ??= []).push(orgId);
    socket.emit('access:revoked', { orgId, reason });
    // A revoked key's sockets are closed, and a bot's when its org is gone (its key with it), after
    // what was sent before (close=true could drop it).
    const { principal } = socket.data;
    if (reason === 'key_revoked' || (principal.kind === 'bot' && principal.orgId === orgId)) socket.disconnect();
    for (const board of left) if (board !== prefix) presence.changed(board);
  }
}

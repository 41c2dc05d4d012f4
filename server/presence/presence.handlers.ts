import { presenceUpdatePayload } from '../../shared/schemas.js';
import { notFound } from '../errors.js';
import { type HandlerTable, on } from '../realtime/ack.js';
import type { TaskFlowSocket } from '../realtime/types.js';
import type { Presence } from './presence.js';

/** The board room this socket joined for `projectId`, if it did. */
export function joinedRoom(socket: TaskFlowSocket, projectId: string): string | undefined {
  for (const room of socket.rooms) if (room.endsWith(`:project:${projectId}`)) return room;
  return undefined;
}

export function presenceHandlers(presence: Presence): HandlerTable {
  return on('presence:update', presenceUpdatePayload, async (socket, { projectId, editingTaskId }) => {
    const room = joinedRoom(socket, projectId);
    if (!room) throw notFound('joined board');
    socket.data.editing[projectId] = editingTaskId ?? undefined;
    presence.changed(room);
    return {};
  });
}

/** A socket that goes leaves its boards' presence lists. */
export function leavePresenceOnDisconnect(presence: Presence, socket: TaskFlowSocket): void {
  socket.on('disconnecting', () => {
    for (const room of socket.rooms) if (room.includes(':project:')) presence.changed(room);
  });
}

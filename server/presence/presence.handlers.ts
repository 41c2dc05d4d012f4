import { presenceUpdatePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { notFound } from '../errors.js';
import { handle } from '../realtime/ack.js';
import type { TaskFlowSocket } from '../realtime/types.js';
import type { Presence } from './presence.js';

/** The board room this socket joined for `projectId`, if it did. */
export function joinedRoom(socket: TaskFlowSocket, projectId: string): string | undefined {
  for (const room of socket.rooms) if (room.endsWith(`:project:${projectId}`)) return room;
  return undefined;
}

export function registerPresenceHandlers(ctx: AppContext, presence: Presence, socket: TaskFlowSocket): void {
  handle(socket, ctx, 'presence:update', presenceUpdatePayload, async ({ projectId, editingTaskId }) => {
    const room = joinedRoom(socket, projectId);
    if (!room) throw notFound('joined board');
    socket.data.editing = { ...socket.data.editing, [projectId]: editingTaskId ?? undefined };
    presence.changed(room);
    return {};
  });

  let boardRooms: string[] = [];
  socket.on('disconnecting', () => {
    boardRooms = [...socket.rooms].filter((room) => room.includes(':project:'));
  });
  socket.on('disconnect', () => {
    for (const room of boardRooms) presence.changed(room);
  });
}

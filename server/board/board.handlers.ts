import { boardJoinPayload, boardLeavePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { joinedRoom } from '../presence/presence.handlers.js';
import type { Presence } from '../presence/presence.js';
import { handle } from '../realtime/ack.js';
import { projectRoom } from '../realtime/rooms.js';
import type { TaskFlowSocket } from '../realtime/types.js';
import { readBoard } from './board-read.js';

export function registerBoardHandlers(ctx: AppContext, presence: Presence, socket: TaskFlowSocket): void {
  handle(socket, ctx, 'board:join', boardJoinPayload, async ({ projectId, sinceSeq }) => {
    let joined: string | null = null;
    const wasIn = (room: string) => socket.rooms.has(room);
    try {
      const { board } = await readBoard(ctx, socket.data.principal, projectId, {
        sinceSeq,
        onAuthorized: (orgId) => {
          const room = projectRoom(orgId, projectId);
          if (!wasIn(room)) joined = room;
          void socket.join(room);
        },
      });
      if (joined) presence.changed(joined);
      return board;
    } catch (error) {
      if (joined) void socket.leave(joined);
      throw error;
    }
  });

  handle(socket, ctx, 'board:leave', boardLeavePayload, async ({ projectId }) => {
    const room = joinedRoom(socket, projectId);
    if (room) {
      await socket.leave(room);
      delete socket.data.editing[projectId];
      presence.changed(room);
    }
    return {};
  });
}

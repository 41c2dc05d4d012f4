import { boardJoinPayload, boardLeavePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { notFound } from '../errors.js';
import { joinedRoom } from '../presence/presence.handlers.js';
import type { Presence } from '../presence/presence.js';
import { type HandlerTable, on } from '../realtime/ack.js';
import { projectRoom } from '../realtime/rooms.js';
import { joinEnded, joinStarted, leftRoom } from '../realtime/room-joins.js';
import { readBoard } from './board-read.js';

export function boardHandlers(ctx: AppContext, presence: Presence): HandlerTable {
  return {
    ...on('board:join', boardJoinPayload, async (socket, { projectId, sinceSeq }) => {
      let room: string | null = null;
      // A removal that commits while this join runs may kick the socket before the join puts it
      // in the board's room, where the kick could not reach it: such a join is refused.
      const revokedBefore = socket.data.revokedFrom?.length ?? 0;
      try {
        const { orgId, board } = await readBoard(ctx, socket.data.principal, projectId, {
          sinceSeq,
          onAuthorized: (orgId) => {
            joinStarted(socket, (room = projectRoom(orgId, projectId)));
            void socket.join(room);
          },
        });
        if (socket.data.revokedFrom?.slice(revokedBefore).includes(orgId)) throw notFound('project');
        if (room && joinEnded(socket, room, true)) presence.changed(room);
        return board;
      } catch (error) {
        if (room && joinEnded(socket, room, false)) {
          void socket.leave(room);
          leftRoom(socket, room);
          presence.changed(room);
        }
        throw error;
      }
    }),
    ...on('board:leave', boardLeavePayload, async (socket, { projectId }) => {
      const room = joinedRoom(socket, projectId);
      if (room) {
        await socket.leave(room);
        leftRoom(socket, room);
        presence.changed(room);
      }
      return {};
    }),
  };
}

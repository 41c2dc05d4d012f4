import { boardJoinPayload, boardLeavePayload } from '../../shared/schemas.js';
import type { Caller } from '../auth/caller.js';
import type { AppContext } from '../context.js';
import { DomainError, NO_ANSWER_IN_TIME, notFound } from '../errors.js';
import { Lanes } from '../lanes.js';
import { joinedRoom } from '../presence/presence.handlers.js';
import type { Presence } from '../presence/presence.js';
import { type HandlerTable, on } from '../realtime/ack.js';
import type { TaskFlowSocket } from '../realtime/types.js';
import { projectRoom } from '../realtime/rooms.js';
import { joinEnded, joinStarted, leftRoom } from '../realtime/room-joins.js';
import { readBoard } from './board-read.js';

export function boardHandlers(ctx: AppContext, presence: Presence): HandlerTable {
  // A socket's joins and leaves of one board run in the order it sent them: an account's events
  // run several at once, and a leave that overtook its join (a screen opened and closed at once)
  // found no room to leave, then the join put the socket there for good.
  const inOrder = new Lanes(1);
  const ofBoard = (socket: TaskFlowSocket, projectId: string) => `${socket.id} ${projectId}`;
  // A join answered UNAVAILABLE at its deadline (`serveEvents`) while it waited or read: its client
  // holds that it failed and will send no leave, so it must not stand in the room.
  const answeredAlready = (caller: Caller) => {
    if (!caller.socketId) throw new DomainError(NO_ANSWER_IN_TIME.code, NO_ANSWER_IN_TIME.message);
  };
  return {
    ...on('board:join', boardJoinPayload, (socket, { projectId, sinceSeq }, caller) =>
      inOrder.run(ofBoard(socket, projectId), async () => {
        answeredAlready(caller);
        let room: string | null = null;
        // A removal that commits while this join runs may kick the socket before the join puts it
        // in the board's room, where the kick could not reach it: such a join is refused.
        const revokedBefore = socket.data.revokedFrom?.length ?? 0;
        try {
          const { orgId, board } = await readBoard(ctx, socket.data.principal, projectId, {
            sinceSeq,
            stillWanted: () => caller.socketId !== undefined && socket.connected,
            shared: true,
            onAuthorized: (orgId) => {
              joinStarted(socket, (room = projectRoom(orgId, projectId)));
              void socket.join(room);
            },
          });
          if (socket.data.revokedFrom?.slice(revokedBefore).includes(orgId)) throw notFound('project');
          answeredAlready(caller);
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
    ),
    ...on('board:leave', boardLeavePayload, (socket, { projectId }) =>
      inOrder.run(ofBoard(socket, projectId), async () => {
        const room = joinedRoom(socket, projectId);
        if (room) {
          await socket.leave(room);
          leftRoom(socket, room);
          presence.changed(room);
        }
        return {};
      }),
    ),
  };
}

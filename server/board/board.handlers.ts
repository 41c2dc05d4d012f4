import { boardJoinPayload, boardLeavePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { notFound } from '../errors.js';
import { joinedRoom } from '../presence/presence.handlers.js';
import type { Presence } from '../presence/presence.js';
import { type HandlerTable, on } from '../realtime/ack.js';
import { projectRoom } from '../realtime/rooms.js';
import type { TaskFlowSocket } from '../realtime/types.js';
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
            room = projectRoom(orgId, projectId);
            joinStarted(socket, room);
            void socket.join(room);
          },
        });
        if (socket.data.revokedFrom?.slice(revokedBefore).includes(orgId)) throw notFound('project');
        if (room && joinEnded(socket, room, true)) presence.changed(room);
        return board;
      } catch (error) {
        if (room && joinEnded(socket, room, false)) {
          void socket.leave(room);
          presence.changed(room);
        }
        throw error;
      }
    }),
    ...on('board:leave', boardLeavePayload, async (socket, { projectId }) => {
      const room = joinedRoom(socket, projectId);
      if (room) {
        await socket.leave(room);
        delete socket.data.editing[projectId];
        presence.changed(room);
      }
      return {};
    }),
  };
}

/** A join of `room` authorized and under way: the socket goes in the room now, so that no event of the board is missed while it reads. */
function joinStarted(socket: TaskFlowSocket, room: string): void {
  const joining = (socket.data.joining ??= new Map());
  const joins = joining.get(room) ?? { underWay: 0, stands: socket.rooms.has(room) };
  joins.underWay += 1;
  joining.set(room, joins);
}

/**
 * A join of `room` was answered, `ok` or not. Answers whether the socket's standing in the room
 * changed: it now stands there by this join (presence changed), or, as the last join of the room
 * under way and none succeeded, the failed joins put it there for nothing (it leaves). A join that
 * fails while another of the same room succeeded, before or after, leaves the socket where it is.
 */
function joinEnded(socket: TaskFlowSocket, room: string, ok: boolean): boolean {
  const joining = socket.data.joining!;
  const joins = joining.get(room)!;
  joins.underWay -= 1;
  const changed = ok ? !joins.stands : joins.underWay === 0 && !joins.stands;
  if (ok) joins.stands = true;
  if (joins.underWay === 0) joining.delete(room);
  if (joining.size === 0) delete socket.data.joining;
  return changed;
}

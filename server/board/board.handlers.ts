import { boardJoinPayload, boardLeavePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { readBoard } from '../projects/projects.service.js';
import { handle } from '../realtime/ack.js';
import { projectRoom } from '../realtime/rooms.js';
import type { TaskFlowSocket } from '../realtime/types.js';

export function registerBoardHandlers(ctx: AppContext, socket: TaskFlowSocket): void {
  handle(socket, ctx.log, 'board:join', boardJoinPayload, async ({ projectId }) => {
    let joined: string | null = null;
    try {
      const { orgId: _orgId, ...board } = await readBoard(ctx, socket.data.principal, projectId, {
        onAuthorized: (orgId) => {
          joined = projectRoom(orgId, projectId);
          void socket.join(joined);
        },
      });
      return board;
    } catch (error) {
      if (joined) void socket.leave(joined);
      throw error;
    }
  });

  handle(socket, ctx.log, 'board:leave', boardLeavePayload, async ({ projectId }) => {
    for (const room of socket.rooms) if (room.endsWith(`:project:${projectId}`)) void socket.leave(room);
    return {};
  });
}

import { presenceUpdatePayload } from '../../shared/schemas.js';
import type { Principal } from '../auth/principal.js';
import type { AppContext } from '../context.js';
import { sql } from '../db/sql-script.js';
import { readInTenant } from '../db/tenant.js';
import { DomainError, notFound } from '../errors.js';
import { Lanes } from '../lanes.js';
import { authorize } from '../orgs/access.js';
import { type HandlerTable, on } from '../realtime/ack.js';
import { boardOfRoom } from '../realtime/rooms.js';
import type { TaskFlowSocket } from '../realtime/types.js';
import type { Presence } from './presence.js';

/** The board room this socket joined for `projectId`, if it did. */
export function joinedRoom(socket: TaskFlowSocket, projectId: string): string | undefined {
  for (const room of socket.rooms) if (room.endsWith(`:project:${projectId}`)) return room;
  return undefined;
}

/**
 * Refuses, as NOT_FOUND, an `editingTaskId` that is not a task of this board, since every viewer
 * of the board is sent it. One read of the task's row by board and id, inside the board's org: a
 * task of another board or of another org is refused just as an id that names nothing, so the
 * answer tells nobody whether an id exists elsewhere.
 */
async function checkTaskOnBoard(
  ctx: Pick<AppContext, 'orm'>,
  principal: Principal,
  room: string,
  projectId: string,
  taskId: string,
): Promise<void> {
  const { orgId } = boardOfRoom(room)!;
  const refusal = () => notFound('task');
  await readInTenant(ctx.orm, orgId, principal, (standing) => {
    // The standing comes with the read: a member removed since the join (whose kick was lost) is refused here too.
    authorize(standing, principal, orgId, 'board:read', refusal);
    return {
      statement: sql`select 1 from tasks where project_id = ${projectId} and id = ${taskId} and org_id = ${orgId}`,
      read: (rows) => {
        if (rows.length === 0) throw refusal();
      },
    };
  });
}

/** Presence is said on a board the socket joined (`board:join`), and only there. */
const notJoined = () => new DomainError('NOT_FOUND', 'board not joined: send board:join first');

export function presenceHandlers(ctx: Pick<AppContext, 'orm'>, presence: Presence): HandlerTable {
  // A socket's updates land in the order it sent them: one that waits on the database must not
  // overwrite a later one that needed no read (editing a task, then editing nothing).
  const inOrder = new Lanes(1);
  return on('presence:update', presenceUpdatePayload, (socket, { projectId, editingTaskId }) =>
    inOrder.run(socket.id, async () => {
      const room = joinedRoom(socket, projectId);
      if (!room) throw notJoined();
      if (editingTaskId) {
        await checkTaskOnBoard(ctx, socket.data.principal, room, projectId, editingTaskId);
        // The socket may have left the board (or been removed from it) while the check ran.
        if (joinedRoom(socket, projectId) !== room) throw notJoined();
      }
      socket.data.editing[projectId] = editingTaskId ?? undefined;
      presence.changed(room);
      return {};
    }),
  );
}

/** A socket that goes leaves its boards' presence lists. */
export function leavePresenceOnDisconnect(presence: Presence, socket: TaskFlowSocket): void {
  socket.on('disconnecting', () => {
    for (const room of socket.rooms) if (room.includes(':project:')) presence.changed(room);
  });
}

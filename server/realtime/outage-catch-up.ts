import { actorOf } from '../auth/principal.js';
import { latestEvents } from '../board/board-read.js';
import type { AppContext } from '../context.js';
import { passesLater } from '../errors.js';
import { boardOfRoom, projectRoom } from './rooms.js';
import type { TaskFlowServer, TaskFlowSocket } from './types.js';

/**
 * Sends this node's sockets, after a Redis outage, the latest event of each board they are on.
 * A board event published while Redis was away reached its own node's sockets only; a socket
 * elsewhere finds the gap from the board's next event, but on a quiet board that can be hours
 * away. With the latest event a socket that missed the tail of the log has it (or sees the gap
 * and rejoins with its `seq`, as for any gap); one that has it ignores it, as it ignores an event
 * at or below its snapshot's `seq`. A socket whose user or key came into the org after the event
 * is not sent it, as a replay would not show it (`latestEvents`): it has the board from a
 * snapshot taken since. A board whose latest event this node already re-sent is not sent it
 * again: call it one run at a time, so that runs can tell. False when an org's boards could not be
 * read (the database away, or refusing for now): a run after sends them.
 */
export function createOutageCatchUp(io: TaskFlowServer, ctx: AppContext): () => Promise<boolean> {
  let resent = new Map<string, number>();

  return async () => {
    const boardsByOrg = new Map<string, string[]>();
    for (const room of io.of('/').adapter.rooms.keys()) {
      const board = boardOfRoom(room);
      if (!board) continue;
      const boards = boardsByOrg.get(board.orgId);
      if (boards) boards.push(board.projectId);
      else boardsByOrg.set(board.orgId, [board.projectId]);
    }
    const sent = new Map<string, number>();
    const failed: string[] = [];
    let firstError: unknown;
    for (const [orgId, projectIds] of boardsByOrg) {
      try {
        const sockets = new Map(projectIds.map((projectId) => [projectId, socketsIn(io, projectRoom(orgId, projectId))]));
        const principals = [...sockets.values()].flat().map((socket) => socket.data.principal);
        const readers = {
          userIds: [...new Set(principals.flatMap((principal) => (principal.kind === 'user' ? [principal.userId] : [])))],
          keyIds: [...new Set(principals.flatMap((principal) => (principal.kind === 'bot' ? [principal.keyId] : [])))],
        };
        for (const { event, readers: seeing } of await latestEvents(ctx, orgId, projectIds, readers)) {
          const room = projectRoom(orgId, event.projectId);
          sent.set(room, event.seq);
          if (resent.get(room) === event.seq) continue;
          for (const socket of sockets.get(event.projectId) ?? [])
            if (seeing.has(actorOf(socket.data.principal).id)) socket.emit('board:event', event);
        }
      } catch (error) {
        if (!passesLater(error)) {
          ctx.log.error({ err: error, orgId }, "could not send the boards' latest events after the Redis outage");
          continue;
        }
        firstError ??= error;
        failed.push(orgId);
      }
    }
    resent = sent;
    if (failed.length === 0) return true;
    const orgIds = failed.slice(0, 10);
    ctx.log.warn(
      { err: firstError, orgs: failed.length, orgIds },
      "could not send the boards' latest events after the Redis outage; trying again",
    );
    return false;
  };
}

/** This node's sockets in `room`. */
function socketsIn(io: TaskFlowServer, room: string): TaskFlowSocket[] {
  const namespace = io.of('/');
  return [...(namespace.adapter.rooms.get(room) ?? [])].flatMap((id) => namespace.sockets.get(id) ?? []);
}

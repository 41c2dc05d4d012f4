import type { FastifyBaseLogger } from 'fastify';
import type { Viewer } from '../../shared/wire.js';
import { actorOf } from '../auth/principal.js';
import type { TaskFlowServer } from '../realtime/types.js';
import { PresenceSchedule } from './presence-schedule.js';

export interface Presence {
  /** Something changed who is on this board room: send everyone there the new list, soon. */
  changed(room: string): void;
  /** A task of this board room was deleted: no one is editing it any more, on any node. */
  taskGone(room: string, taskId: string): void;
  close(): void;
}

const PROJECT_ROOM = /^org:[^:]+:project:(.+)$/;
/** Changes that come within one cycle are sent as one list; the lists of a cycle take at most a tenth of the node's time. */
const CYCLE_MS = 200;
const BUDGET_MS = 20;

/**
 * Presence is read from the sockets themselves (`socket.data.editing`), on every node through the
 * adapter, so it needs no store of its own and goes when a socket goes. A node that dies takes
 * its sockets with it; since it can no longer say so, every node of a cluster also re-reads its
 * boards' lists every `refreshMs` and tells its own sockets when the list differs from the one
 * they were last sent, by whichever node.
 */
export function createPresence(
  io: TaskFlowServer,
  log: FastifyBaseLogger,
  { refreshMs, clustered, writeNow }: { refreshMs: number; clustered: boolean; writeNow: () => void },
): Presence {
  const lastSent = new Map<string, string>();

  type RoomSockets = Awaited<ReturnType<ReturnType<TaskFlowServer['in']>['fetchSockets']>>;

  async function roomSockets(room: string): Promise<RoomSockets> {
    try {
      return await io.in(room).fetchSockets();
    } catch (error) {
      log.debug({ err: error }, 'presence: other nodes did not answer; listing this node only');
      return io.local.in(room).fetchSockets();
    }
  }

  function viewers(projectId: string, sockets: RoomSockets): Viewer[] {
    const byActor = new Map<string, Viewer>();
    for (const socket of sockets) {
      const actor = actorOf(socket.data.principal);
      const key = `${actor.kind}:${actor.id}`;
      const editingTaskId = socket.data.editing?.[projectId];
      const known = byActor.get(key);
      if (!known || (editingTaskId && !known.editingTaskId)) byActor.set(key, editingTaskId ? { ...actor, editingTaskId } : actor);
    }
    return [...byActor.values()].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  /** Sends the room's list; answers the milliseconds it took once the sockets were known. */
  async function send(room: string, localOnly: boolean): Promise<number> {
    const projectId = room.match(PROJECT_ROOM)?.[1];
    if (!projectId) return 0;
    const sockets = await roomSockets(room);
    const started = performance.now();
    const took = () => performance.now() - started;
    const list = viewers(projectId, sockets);
    // What the room's sockets were last sent, by this node or another (`presenceSent`), for the
    // refresh to send only a changed list: a single node keeps none (about 2 KB a board of 20 viewers).
    if (clustered) {
      const key = JSON.stringify(list);
      if (localOnly && lastSent.get(room) === key) return took();
      lastSent.set(room, key);
      if (!localOnly) io.serverSideEmit('presenceSent', room, key);
    }
    (localOnly ? io.local : io).to(room).emit('presence:changed', { projectId, viewers: list });
    // Written here, not at the end of the tick (`coalesced-writes.ts`): the writes are most of what
    // a list costs, and the schedule budgets by what this measures. Measured without them, a join
    // storm's lists never ran out of budget and none were merged (the connect ramp wrote 13.2 KB
    // a socket instead of 8.3).
    writeNow();
    return took();
  }

  // Another node's list reached this node's sockets too: were that node to die, the refresh must
  // compare with what they hold, not with what this node last sent them.
  if (clustered)
    io.on('presenceSent', (room, list) => {
      if (io.of('/').adapter.rooms.has(room)) lastSent.set(room, list);
    });

  const schedule = new PresenceSchedule({
    send: (room) =>
      send(room, false).catch((error: unknown) => {
        log.warn({ err: error }, 'presence update failed');
        return 0;
      }),
    localSockets: (room) => io.of('/').adapter.rooms.get(room)?.size ?? 0,
    cycleMs: CYCLE_MS,
    budgetMs: BUDGET_MS,
  });

  /** This node's sockets in `room` editing `taskId` edit nothing now; the list is sent if any did. */
  function forgetEditing(room: string, taskId: string): void {
    const projectId = room.match(PROJECT_ROOM)?.[1];
    if (!projectId) return;
    let forgot = false;
    for (const id of io.of('/').adapter.rooms.get(room) ?? []) {
      const editing = io.of('/').sockets.get(id)?.data.editing;
      if (editing?.[projectId] !== taskId) continue;
      editing[projectId] = undefined;
      forgot = true;
    }
    if (forgot) schedule.touch(room);
  }
  if (clustered)
    io.on('taskGone', (room, taskId) => {
      if (typeof room === 'string' && typeof taskId === 'string') forgetEditing(room, taskId);
    });

  // Only another node can die unseen: a single node hears every disconnect itself.
  const refresh = setInterval(() => {
    if (!clustered) return;
    const rooms = [...io.of('/').adapter.rooms.keys()].filter((room) => PROJECT_ROOM.test(room));
    for (const room of lastSent.keys()) if (!io.of('/').adapter.rooms.has(room)) lastSent.delete(room);
    for (const room of rooms) send(room, true).catch((error) => log.warn({ err: error }, 'presence refresh failed'));
  }, refreshMs);
  refresh.unref();

  return {
    changed: (room) => schedule.touch(room),
    taskGone(room, taskId) {
      forgetEditing(room, taskId);
      if (clustered) io.serverSideEmit('taskGone', room, taskId);
    },
    close() {
      clearInterval(refresh);
      schedule.close();
    },
  };
}

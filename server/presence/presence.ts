import type { FastifyBaseLogger } from 'fastify';
import type { Viewer } from '../../shared/wire.js';
import { actorOf } from '../auth/principal.js';
import type { TaskFlowServer } from '../realtime/types.js';

export interface Presence {
  /** Something changed who is on this board room: send everyone there the new list, soon. */
  changed(room: string): void;
  close(): void;
}

const PROJECT_ROOM = /^org:[^:]+:project:(.+)$/;
/** Changes that come within this window are sent as one list (a join storm costs one list per board, not one per join). */
const COALESCE_MS = 200;

/**
 * Presence is read from the sockets themselves (`socket.data.editing`), on every node through the
 * adapter, so it needs no store of its own and goes when a socket goes. A node that dies takes
 * its sockets with it; since it can no longer say so, every node of a cluster also re-reads its
 * boards' lists every `refreshMs` and tells its own sockets when the list changed.
 */
export function createPresence(io: TaskFlowServer, log: FastifyBaseLogger, refreshMs: number, clustered: boolean): Presence {
  const pending = new Map<string, NodeJS.Timeout>();
  const lastSent = new Map<string, string>();

  async function viewers(room: string): Promise<Viewer[]> {
    let sockets: Awaited<ReturnType<ReturnType<TaskFlowServer['in']>['fetchSockets']>>;
    try {
      sockets = await io.in(room).fetchSockets();
    } catch (error) {
      log.debug({ err: error }, 'presence: other nodes did not answer; listing this node only');
      sockets = await io.local.in(room).fetchSockets();
    }
    const projectId = room.match(PROJECT_ROOM)![1]!;
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

  async function send(room: string, localOnly: boolean): Promise<void> {
    const projectId = room.match(PROJECT_ROOM)?.[1];
    if (!projectId) return;
    const list = await viewers(room);
    // What this node last sent each room, for the refresh to send only a changed list: a single
    // node keeps none (about 2 KB a board of 20 viewers).
    if (clustered) {
      const key = JSON.stringify(list);
      if (localOnly && lastSent.get(room) === key) return;
      lastSent.set(room, key);
    }
    (localOnly ? io.local : io).to(room).emit('presence:changed', { projectId, viewers: list });
  }

  // Only another node can die unseen: a single node hears every disconnect itself.
  const refresh = setInterval(() => {
    if (!clustered) return;
    const rooms = [...io.of('/').adapter.rooms.keys()].filter((room) => PROJECT_ROOM.test(room));
    for (const room of lastSent.keys()) if (!io.of('/').adapter.rooms.has(room)) lastSent.delete(room);
    for (const room of rooms) send(room, true).catch((error) => log.warn({ err: error }, 'presence refresh failed'));
  }, refreshMs);
  refresh.unref();

  return {
    changed(room) {
      if (pending.has(room)) return;
      const timer = setTimeout(() => {
        pending.delete(room);
        send(room, false).catch((error) => log.warn({ err: error }, 'presence update failed'));
      }, COALESCE_MS);
      pending.set(room, timer);
    },
    close() {
      clearInterval(refresh);
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    },
  };
}

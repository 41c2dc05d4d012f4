import type { Server, Socket } from 'socket.io';
import type { AccessRevokedReason, ClientToServerEvents, ServerToClientEvents } from '../../shared/events.js';
import type { Principal } from '../auth/principal.js';

export interface SocketData {
  principal: Principal;
  /** When the credential stops being valid, in epoch seconds; null for a key with no expiry. */
  expiresAt: number | null;
  /** The orgs the principal belonged to at connect, whose rooms the socket joins. */
  orgIds: string[];
  /** Per board the socket joined, the task it says it is editing (presence). */
  editing: Record<string, string | undefined>;
  /** The orgs this socket was revoked from, in order: a `board:join` under way checks it. */
  revokedFrom?: string[];
  /** The board rooms with a `board:join` under way (`board.handlers.ts`); none while no join runs. */
  joining?: Map<string, RoomJoins>;
  /** How many of its events are being served (`ack.ts`). */
  running: number;
  /**
   * Set once the socket is to close (its credential expired or was revoked, its session ended, or
   * it went over the rate limit): it is called when its events under way are answered, and events
   * that come meanwhile are refused.
   */
  closeWhenAnswered?: () => void;
}

/** A socket's joins of one board room under way, and whether the socket stands in the room (it was in it, or a join of it succeeded). */
export interface RoomJoins {
  underWay: number;
  stands: boolean;
}

/** Events between server nodes: changes of access, which each node applies to its own sockets. */
export interface InterServerEvents {
  revoke: (order: RevokeOrder) => void;
  /** A user joined an org: each node remembers it for its sockets in their handshake (`AccessOrders`). */
  admit: (order: AdmitOrder) => void;
  /** Re-check the access of your sockets, then send them their boards' latest events: kicks and events may have been lost in a Redis outage (`sweepAfterOutages`). */
  sweep: () => void;
  /** A node sent a board room its presence list (`presence.ts`): what that room's sockets now hold. */
  presenceSent: (room: string, list: string) => void;
  /** A task of a board room was deleted: what its sockets were editing of it is forgotten (`presence.ts`). */
  taskGone: (room: string, taskId: string) => void;
}

export interface RevokeOrder {
  /** The room whose sockets lose access: a user's, a key's, or the org's. */
  room: string;
  /** The org they lose; null: their sessions were ended (`signed_out`), and the sockets are closed. */
  orgId: string | null;
  reason: AccessRevokedReason;
  /** For ended sessions: the user's session version now; sockets signed in with it are spared. */
  sessionVersion?: number;
}

/** A user's sockets (`room`, the user's) join an org's room (`admitTo`): they were made its member. */
export interface AdmitOrder {
  room: string;
  admitTo: string;
}

export type AccessOrder = RevokeOrder | AdmitOrder;

export type TaskFlowServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type TaskFlowSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

/** A socket of this node, as the server holds it or as `fetchSockets` answers it. */
export type LocalSocket = TaskFlowSocket | Awaited<ReturnType<TaskFlowServer['fetchSockets']>>[number];

import type { Server, Socket } from 'socket.io';
import type { ClientToServerEvents, ServerToClientEvents } from '../../shared/events.js';
import type { Principal } from '../auth/principal.js';

export interface SocketData {
  principal: Principal;
  /** When the credential stops being valid, in epoch seconds; null for a key with no expiry. */
  expiresAt: number | null;
  /** The orgs the principal belonged to at connect, whose rooms the socket joins. */
  orgIds: string[];
  /** Per board the socket joined, the task it says it is editing (presence). */
  editing: Record<string, string | undefined>;
}

/** Events between server nodes: none; cross-node traffic is the adapter's broadcasts. */
export type InterServerEvents = Record<string, never>;

export type TaskFlowServer = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;
export type TaskFlowSocket = Socket<ClientToServerEvents, ServerToClientEvents, InterServerEvents, SocketData>;

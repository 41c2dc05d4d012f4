/**
 * The socket event maps (DESIGN §7), fed into socket.io's generics on the server and in the SDK,
 * so a renamed event or a changed payload breaks the build, not a user.
 */
import type { WireError } from './errors.js';
import type {
  BoardJoinPayload,
  BoardLeavePayload,
  ColumnCreatePayload,
  ColumnDeletePayload,
  ColumnMovePayload,
  ColumnUpdatePayload,
  PresenceUpdatePayload,
  TaskCreatePayload,
  TaskDeletePayload,
  TaskMovePayload,
  TaskUpdatePayload,
} from './schemas.js';
import type { BoardEventJson, BoardSnapshot, ColumnJson, OrgEventJson, TaskJson, Viewer } from './wire.js';

/** The largest message a socket may send (an event and its payload, as sent): a larger one closes the socket (DESIGN §6). */
export const MAX_MESSAGE_BYTES = 1 << 20;

/**
 * The most values a socket message or an HTTP body may hold (members of objects and items of
 * arrays, counted by their punctuation): one with more is answered VALIDATION_FAILED unread, as
 * parsing it would hold up every tenant on the node (a message of distinct keys near 1 MiB took
 * 100 ms to parse).
 */
export const MAX_MESSAGE_VALUES = 10_000;

/** Every acknowledgement: exactly one of these, exactly once. */
export type Ack<Data> = { ok: true; data: Data } | { ok: false; error: WireError };
export type AckCallback<Data> = (answer: Ack<Data>) => void;

export type BoardJoinData = BoardSnapshot | { events: BoardEventJson[]; seq: number };
export interface TaskChangeData {
  task: TaskJson;
  event: BoardEventJson | null;
}
export interface TaskDeleteData {
  event: BoardEventJson;
}

export interface ColumnChangeData {
  column: ColumnJson;
  event: BoardEventJson | null;
}

export interface ClientToServerEvents {
  'board:join': (payload: BoardJoinPayload, ack: AckCallback<BoardJoinData>) => void;
  'board:leave': (payload: BoardLeavePayload, ack: AckCallback<Record<string, never>>) => void;
  'task:create': (payload: TaskCreatePayload, ack: AckCallback<TaskChangeData>) => void;
  'task:update': (payload: TaskUpdatePayload, ack: AckCallback<TaskChangeData>) => void;
  'task:move': (payload: TaskMovePayload, ack: AckCallback<TaskChangeData>) => void;
  'task:delete': (payload: TaskDeletePayload, ack: AckCallback<TaskDeleteData>) => void;
  'column:create': (payload: ColumnCreatePayload, ack: AckCallback<ColumnChangeData>) => void;
  'column:update': (payload: ColumnUpdatePayload, ack: AckCallback<ColumnChangeData>) => void;
  'column:move': (payload: ColumnMovePayload, ack: AckCallback<ColumnChangeData>) => void;
  'column:delete': (payload: ColumnDeletePayload, ack: AckCallback<ColumnChangeData>) => void;
  'presence:update': (payload: PresenceUpdatePayload, ack: AckCallback<Record<string, never>>) => void;
}

export type AccessRevokedReason = 'removed' | 'key_revoked' | 'org_deleted' | 'token_expired' | 'signed_out';

export interface ServerToClientEvents {
  'board:event': (event: BoardEventJson) => void;
  'presence:changed': (payload: { projectId: string; viewers: Viewer[] }) => void;
  'org:event': (payload: OrgEventJson) => void;
  'access:revoked': (payload: { orgId: string | null; reason: AccessRevokedReason }) => void;
}

/** The event names a client may send. */
export type ClientEventName = keyof ClientToServerEvents;

/** The data of an event's `ok` answer. */
export type AckData<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[1] extends (answer: Ack<infer D>) => void ? D : never;

export type { ErrorCode } from '../shared/errors.js';
export type { AccessRevokedReason, BoardJoinData, ColumnChangeData, TaskChangeData, TaskDeleteData } from '../shared/events.js';
export type * from '../shared/wire.js';
export type { Role } from '../shared/roles.js';
export type {
  ColumnCreatePayload,
  ColumnDeletePayload,
  ColumnMovePayload,
  ColumnUpdatePayload,
  TaskCreatePayload,
  TaskDeletePayload,
  TaskMovePayload,
  TaskPatch,
  TaskUpdatePayload,
} from '../shared/schemas.js';
export { BoardState } from './board-state.js';
export { type TaskConflict, TaskFlowError } from './errors.js';
export type { UnacknowledgedChange } from './mutation-queue.js';
export type { ConnectionState, Credentials, TaskFlowClientEvents, TaskFlowClientOptions } from './client-options.js';
export { TaskFlowClient } from './taskflow-client.js';

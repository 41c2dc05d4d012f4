export type { BoardJoinData, ColumnChangeData, TaskChangeData, TaskDeleteData } from '../shared/events.js';
export type * from '../shared/wire.js';
export type { Role } from '../shared/roles.js';
export type { TaskPatch } from '../shared/schemas.js';
export { BoardState } from './board-state.js';
export { TaskFlowError } from './errors.js';
export {
  type ConnectionState,
  type Credentials,
  TaskFlowClient,
  type TaskFlowClientEvents,
  type TaskFlowClientOptions,
} from './taskflow-client.js';

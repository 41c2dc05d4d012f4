import { columnCreatePayload, columnDeletePayload, columnMovePayload, columnUpdatePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { handle } from '../realtime/ack.js';
import type { TaskFlowSocket } from '../realtime/types.js';
import type { Caller } from '../auth/caller.js';
import { createColumn, deleteColumn, moveColumn, updateColumn } from './columns.service.js';

export function registerColumnHandlers(ctx: AppContext, socket: TaskFlowSocket): void {
  const caller = (): Caller => ({ principal: socket.data.principal, socketId: socket.id });
  handle(socket, ctx, 'column:create', columnCreatePayload, (payload) => createColumn(ctx, caller(), payload));
  handle(socket, ctx, 'column:update', columnUpdatePayload, (payload) => updateColumn(ctx, caller(), payload));
  handle(socket, ctx, 'column:move', columnMovePayload, (payload) => moveColumn(ctx, caller(), payload));
  handle(socket, ctx, 'column:delete', columnDeletePayload, (payload) => deleteColumn(ctx, caller(), payload));
}

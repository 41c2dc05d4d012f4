import { taskCreatePayload, taskDeletePayload, taskMovePayload, taskUpdatePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { handle } from '../realtime/ack.js';
import type { TaskFlowSocket } from '../realtime/types.js';
import type { Caller } from '../auth/caller.js';
import { createTask, deleteTask, moveTask, updateTask } from './tasks.service.js';

export function registerTaskHandlers(ctx: AppContext, socket: TaskFlowSocket): void {
  const caller = (): Caller => ({ principal: socket.data.principal, socketId: socket.id });
  handle(socket, ctx, 'task:create', taskCreatePayload, (payload) => createTask(ctx, caller(), payload));
  handle(socket, ctx, 'task:update', taskUpdatePayload, (payload) => updateTask(ctx, caller(), payload));
  handle(socket, ctx, 'task:move', taskMovePayload, (payload) => moveTask(ctx, caller(), payload));
  handle(socket, ctx, 'task:delete', taskDeletePayload, (payload) => deleteTask(ctx, caller(), payload));
}

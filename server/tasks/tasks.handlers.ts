import { taskCreatePayload, taskDeletePayload, taskMovePayload, taskUpdatePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { type HandlerTable, on } from '../realtime/ack.js';
import { socketCaller } from '../realtime/socket-caller.js';
import { createTask, deleteTask, moveTask, updateTask } from './tasks.service.js';

export function taskHandlers(ctx: AppContext): HandlerTable {
  return {
    ...on('task:create', taskCreatePayload, (socket, payload) => createTask(ctx, socketCaller(socket), payload)),
    ...on('task:update', taskUpdatePayload, (socket, payload) => updateTask(ctx, socketCaller(socket), payload)),
    ...on('task:move', taskMovePayload, (socket, payload) => moveTask(ctx, socketCaller(socket), payload)),
    ...on('task:delete', taskDeletePayload, (socket, payload) => deleteTask(ctx, socketCaller(socket), payload)),
  };
}

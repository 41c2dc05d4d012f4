import { taskCreatePayload, taskDeletePayload, taskMovePayload, taskUpdatePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { type HandlerTable, on } from '../realtime/ack.js';
import { createTask, deleteTask, moveTask, updateTask } from './tasks.service.js';

export function taskHandlers(ctx: AppContext): HandlerTable {
  return {
    ...on('task:create', taskCreatePayload, (_socket, payload, caller) => createTask(ctx, caller, payload)),
    ...on('task:update', taskUpdatePayload, (_socket, payload, caller) => updateTask(ctx, caller, payload)),
    ...on('task:move', taskMovePayload, (_socket, payload, caller) => moveTask(ctx, caller, payload)),
    ...on('task:delete', taskDeletePayload, (_socket, payload, caller) => deleteTask(ctx, caller, payload)),
  };
}

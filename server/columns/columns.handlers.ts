import { columnCreatePayload, columnDeletePayload, columnMovePayload, columnUpdatePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { type HandlerTable, on } from '../realtime/ack.js';
import { socketCaller } from '../realtime/socket-caller.js';
import { createColumn, deleteColumn, moveColumn, updateColumn } from './columns.service.js';

export function columnHandlers(ctx: AppContext): HandlerTable {
  return {
    ...on('column:create', columnCreatePayload, (socket, payload) => createColumn(ctx, socketCaller(socket), payload)),
    ...on('column:update', columnUpdatePayload, (socket, payload) => updateColumn(ctx, socketCaller(socket), payload)),
    ...on('column:move', columnMovePayload, (socket, payload) => moveColumn(ctx, socketCaller(socket), payload)),
    ...on('column:delete', columnDeletePayload, (socket, payload) => deleteColumn(ctx, socketCaller(socket), payload)),
  };
}

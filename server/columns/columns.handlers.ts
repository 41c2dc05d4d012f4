import { columnCreatePayload, columnDeletePayload, columnMovePayload, columnUpdatePayload } from '../../shared/schemas.js';
import type { AppContext } from '../context.js';
import { type HandlerTable, on } from '../realtime/ack.js';
import { createColumn, deleteColumn, moveColumn, updateColumn } from './columns.service.js';

export function columnHandlers(ctx: AppContext): HandlerTable {
  return {
    ...on('column:create', columnCreatePayload, (_socket, payload, caller) => createColumn(ctx, caller, payload)),
    ...on('column:update', columnUpdatePayload, (_socket, payload, caller) => updateColumn(ctx, caller, payload)),
    ...on('column:move', columnMovePayload, (_socket, payload, caller) => moveColumn(ctx, caller, payload)),
    ...on('column:delete', columnDeletePayload, (_socket, payload, caller) => deleteColumn(ctx, caller, payload)),
  };
}

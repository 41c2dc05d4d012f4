import type { BoardEventJson } from '../../shared/wire.js';
import type { IBoardEvent } from './board-event.entity.js';

export function toBoardEventJson(event: IBoardEvent): BoardEventJson {
  return {
    projectId: event.project.id,
    seq: event.seq,
    type: event.type,
    actor: event.actor,
    data: event.payload,
    clientMutationId: event.clientMutationId ?? null,
    at: event.createdAt.toISOString(),
  };
}

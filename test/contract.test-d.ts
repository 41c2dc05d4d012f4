import { describe, expectTypeOf, it } from 'vitest';
import type { Ack, ClientToServerEvents, ServerToClientEvents, TaskChangeData } from '../shared/events.js';
import type { TaskCreatePayload, TaskMovePayload } from '../shared/schemas.js';
import type { BoardEventJson, OrgEventJson, OrgEventType, TaskDeletedData, TaskEventData, TaskJson } from '../shared/wire.js';
import type { TaskFlowClientEvents } from '../client/index.js';

// Pins the socket contract of DESIGN §7: renaming an event or changing a payload breaks the build.
describe('the socket event maps', () => {
  it('names every client command', () => {
    expectTypeOf<keyof ClientToServerEvents>().toEqualTypeOf<
      | 'board:join'
      | 'board:leave'
      | 'task:create'
      | 'task:update'
      | 'task:move'
      | 'task:delete'
      | 'column:create'
      | 'column:update'
      | 'column:move'
      | 'column:delete'
      | 'presence:update'
    >();
  });

  it('names every server fact', () => {
    expectTypeOf<keyof ServerToClientEvents>().toEqualTypeOf<'board:event' | 'presence:changed' | 'org:event' | 'access:revoked'>();
    expectTypeOf<Parameters<ServerToClientEvents['board:event']>[0]>().toEqualTypeOf<BoardEventJson>();
    expectTypeOf<Parameters<ServerToClientEvents['org:event']>[0]>().toEqualTypeOf<OrgEventJson>();
    expectTypeOf<OrgEventType>().toEqualTypeOf<
      'member.added' | 'member.removed' | 'member.role_changed' | 'project.created' | 'project.archived'
    >();
  });

  it('answers mutations with {task, event}', () => {
    expectTypeOf<Parameters<ClientToServerEvents['task:create']>[0]>().toEqualTypeOf<TaskCreatePayload>();
    expectTypeOf<Parameters<ClientToServerEvents['task:move']>[0]>().toEqualTypeOf<TaskMovePayload>();
    expectTypeOf<Parameters<ClientToServerEvents['task:update']>[1]>().toEqualTypeOf<(answer: Ack<TaskChangeData>) => void>();
    expectTypeOf<TaskChangeData['task']>().toEqualTypeOf<TaskJson>();
  });

  it('keeps the payload field names of the contract', () => {
    expectTypeOf<TaskMovePayload>().toHaveProperty('afterId');
    expectTypeOf<TaskMovePayload>().toHaveProperty('beforeId');
    expectTypeOf<TaskMovePayload>().toHaveProperty('baseVersion');
    expectTypeOf<TaskMovePayload>().toHaveProperty('clientMutationId');
    expectTypeOf<TaskJson>().toHaveProperty('completedAt');
  });
});

describe("the SDK's board events", () => {
  it('tell the data of an event by its type, to a `board` listener that checks `event.type`', () => {
    const listener: TaskFlowClientEvents['board'] = (_board, event) => {
      if (event?.type === 'task.created') expectTypeOf(event.data).toEqualTypeOf<TaskEventData>();
      if (event?.type === 'task.deleted') expectTypeOf(event.data).toEqualTypeOf<TaskDeletedData>();
    };
    expectTypeOf(listener).toBeFunction();
  });
});

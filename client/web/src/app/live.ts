import { useEffect, useState } from 'react';
import { type ConnectionState, TaskFlowClient, type TaskFlowClientEvents, type TaskCreatePayload } from '../../../index.js';
import { carryChanges, takeCarriedChanges } from './carried-changes.js';
import { session } from './session.js';

/**
 * One live connection per signed-in user: a TaskFlowClient on this page's origin whose token comes
 * from the session at every connect (refreshed when near expiry). Closed on sign-out; when that was
 * not the user's doing (the session ended, or its token ran out), its changes still unacknowledged
 * are kept for the user's next sign-in in this page (`carried-changes.ts`).
 */
export function useLiveClient(userId: string | null): TaskFlowClient | null {
  const [client, setClient] = useState<TaskFlowClient | null>(null);
  useEffect(() => {
    if (!userId) return;
    const live = new TaskFlowClient({ url: window.location.origin, credentials: { token: () => session.freshToken() } });
    live.sendAgain(takeCarriedChanges(userId)); // their screens' own handlers hear how each goes
    setClient(live);
    live.connect().catch(() => undefined); // the connection state says how it goes
    return () => {
      // Signed out by the server or by a token that ran out, not by the user: what waits is kept.
      if (session.signedOutReason()) carryChanges(userId, live.handOver());
      live.close();
      setClient(null);
    };
  }, [userId]);
  return client;
}

/** The client's connection state, re-rendering as it changes. */
export function useConnectionState(client: TaskFlowClient | null): ConnectionState {
  return useClientValue(client, 'state', 'connecting');
}

/** How many of the client's changes wait for the server's answer, re-rendering as that changes. */
export function useUnacknowledged(client: TaskFlowClient | null): number {
  return useClientValue(client, 'unacknowledged', 0);
}

/**
 * The cards of a board this page made that the server has not answered yet, by column, in the
 * order they were made: read afresh at each change of the client's unacknowledged mutations.
 */
export function useTasksBeingCreated(client: TaskFlowClient | null, projectId: string): Map<string, TaskCreatePayload[]> {
  const [tasks, setTasks] = useState(() => beingCreated(client, projectId));
  useEffect(() => {
    const read = () => setTasks(beingCreated(client, projectId));
    read();
    return client?.on('unacknowledged', read);
  }, [client, projectId]);
  return tasks;
}

function beingCreated(client: TaskFlowClient | null, projectId: string): Map<string, TaskCreatePayload[]> {
  const columns = new Map<string, TaskCreatePayload[]>();
  for (const task of client?.tasksBeingCreated(projectId) ?? []) columns.set(task.columnId, [...(columns.get(task.columnId) ?? []), task]);
  return columns;
}

/** A value of the client's that its event of the same name tells each change of; `none` without a client. */
function useClientValue<E extends 'state' | 'unacknowledged'>(
  client: TaskFlowClient | null,
  event: E,
  none: TaskFlowClient[E],
): TaskFlowClient[E] {
  const [value, setValue] = useState<TaskFlowClient[E]>(client?.[event] ?? none);
  useEffect(() => {
    if (!client) return;
    setValue(client[event]);
    return client.on(event, ((next: TaskFlowClient[E]) => setValue(next)) as TaskFlowClientEvents[E]);
  }, [client, event]);
  return client ? value : none;
}

import { useEffect, useState } from 'react';
import { type ConnectionState, TaskFlowClient } from '../../../index.js';
import { session } from './session.js';

/**
 * One live connection per signed-in user: a TaskFlowClient on this page's origin whose token comes
 * from the session at every connect (refreshed when near expiry). Closed on sign-out.
 */
export function useLiveClient(userId: string | null): TaskFlowClient | null {
  const [client, setClient] = useState<TaskFlowClient | null>(null);
  useEffect(() => {
    if (!userId) return;
    const live = new TaskFlowClient({ url: window.location.origin, credentials: { token: () => session.freshToken() } });
    setClient(live);
    live.connect().catch(() => undefined); // the connection state says how it goes
    return () => {
      live.close();
      setClient(null);
    };
  }, [userId]);
  return client;
}

/** The client's connection state, re-rendering as it changes. */
export function useConnectionState(client: TaskFlowClient | null): ConnectionState {
  const [state, setState] = useState<ConnectionState>(client?.state ?? 'connecting');
  useEffect(() => {
    if (!client) return;
    setState(client.state);
    return client.on('state', setState);
  }, [client]);
  return client ? state : 'connecting';
}

import { useEffect, useReducer, useState } from 'react';
import { type BoardState, type TaskFlowClient, TaskFlowError, type Viewer } from '../../../index.js';

export interface LiveBoard {
  board: BoardState | null;
  /** Bumped at every change of the (mutable) board state, to re-render on. */
  revision: number;
  viewers: Viewer[];
  /** Why the board cannot be shown: refused, gone, or access revoked. */
  error: Error | null;
  retry(): void;
}

/** Codes that mean the board is not this user's to see (no retry helps). */
const DENIED = new Set(['FORBIDDEN', 'NOT_FOUND', 'UNAUTHORIZED', 'VALIDATION_FAILED']);

/**
 * Joins the board once the client is live and keeps it in view: re-renders on every `board` event
 * (a teammate's change, our own, a resync after a reconnect), follows who is looking at it, and
 * leaves it when the screen goes.
 */
export function useBoard(client: TaskFlowClient | null, projectId: string): LiveBoard {
  const [board, setBoard] = useState<BoardState | null>(null);
  const [revision, bump] = useReducer((n: number) => n + 1, 0);
  const [viewers, setViewers] = useState<Viewer[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [attempt, retry] = useReducer((n: number) => n + 1, 0);

  useEffect(() => {
    if (!client) return;
    setBoard(null);
    setViewers([]);
    setError(null);
    let stopped = false;
    let joining = false;
    let joined = false;

    const join = () => {
      if (stopped || joining || joined || client.state !== 'live') return;
      joining = true;
      client.joinBoard(projectId).then(
        (state) => {
          joining = false;
          if (stopped) return void client.leaveBoard(projectId).catch(() => undefined);
          joined = true;
          setError(null);
          setBoard(state);
          bump();
        },
        (failure: Error) => {
          joining = false;
          if (stopped) return;
          // Not connected after all: the next `live` tries again. Anything else is shown.
          if (failure instanceof TaskFlowError && failure.code === 'DISCONNECTED') return;
          setError(failure);
        },
      );
    };

    const offs = [
      client.on('state', (state) => state === 'live' && join()),
      client.on('board', (state) => {
        if (state.project.id !== projectId || stopped) return;
        setBoard(state);
        bump();
      }),
      client.on('presence', (id, list) => id === projectId && !stopped && setViewers(list)),
      client.on('error', (failure) => {
        // The SDK drops a board the server stopped showing to us (e.g. removed from the org while away).
        if (joined && !client.boards.has(projectId) && failure instanceof TaskFlowError && DENIED.has(failure.code)) setError(failure);
      }),
      client.on('revoked', ({ reason }) => {
        // An expired token only ends the connection: the client reconnects with a fresh one.
        if (joined && reason !== 'token_expired' && !client.boards.has(projectId))
          setError(new TaskFlowError({ code: 'FORBIDDEN', message: 'your access to this organization was revoked' }));
      }),
    ];
    join();

    return () => {
      stopped = true;
      for (const off of offs) off();
      if (joined) void client.leaveBoard(projectId).catch(() => undefined);
    };
  }, [client, projectId, attempt]);

  return { board, revision, viewers, error, retry };
}

/** Whether an error means "not yours to see" rather than "try again". */
export function isDenied(error: Error): boolean {
  return error instanceof TaskFlowError && DENIED.has(error.code);
}

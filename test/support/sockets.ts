import { io, type ManagerOptions, type Socket, type SocketOptions } from 'socket.io-client';
import type { Ack, ClientToServerEvents, ServerToClientEvents } from '../../shared/events.js';
import type { BoardEventJson } from '../../shared/wire.js';
import { recordWirePayload } from './wire-recorder.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

const open: ClientSocket[] = [];

/** Connects with `auth` over websocket (`options` added); rejects with the `connect_error` message. */
export function connect(
  url: string,
  auth: Record<string, unknown>,
  options: Partial<ManagerOptions & SocketOptions> = {},
): Promise<ClientSocket> {
  return new Promise((resolve, reject) => {
    const socket: ClientSocket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true, ...options });
    open.push(socket);
    socket.onAny((event: string, ...args: unknown[]) => recordWirePayload(`socket ${event}`, args));
    socket.on('connect_error', (error) =>
      recordWirePayload('socket connect_error', { message: error.message, data: (error as { data?: unknown }).data }),
    );
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => reject(error));
  });
}

/** Closes every socket `connect` opened. */
export function closeAllSockets(): void {
  for (const socket of open.splice(0)) socket.close();
}

/** Emits and waits for the ack (`ms`, 5 s, at most). */
export async function request<T = any>(socket: ClientSocket, event: string, payload: unknown, ms = 5000): Promise<Ack<T>> {
  const answer: Ack<T> = await (socket as Socket).timeout(ms).emitWithAck(event, payload);
  recordWirePayload(`ack ${event}`, answer);
  return answer;
}

/** Emits and returns the ack's data, failing the test on a refusal. */
export async function ok<T = any>(socket: ClientSocket, event: string, payload: unknown, ms?: number): Promise<T> {
  const answer = await request<T>(socket, event, payload, ms);
  if (!answer.ok) throw new Error(`${event} refused: ${JSON.stringify(answer.error)}`);
  return answer.data;
}

/**
 * How long a wait for what a user would see lasts by default: on a loaded two-core machine a
 * broadcast across nodes can take seconds (as vitest.config.ts's `expect.poll`). A passing wait ends sooner.
 */
const SETTLE_MS = 10_000;

/** Resolves with the first event that matches, or rejects after `ms`. */
export function nextEvent<T = any>(
  socket: ClientSocket,
  event: string,
  match: (payload: T) => boolean = () => true,
  ms = SETTLE_MS,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const listener = (payload: T) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      (socket as Socket).off(event, listener);
      resolve(payload);
    };
    const timer = setTimeout(() => {
      (socket as Socket).off(event, listener);
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    (socket as Socket).on(event, listener);
  });
}

/** Records every `board:event` a socket receives, to count deliveries and spot duplicates. */
export function recordBoardEvents(socket: ClientSocket): BoardEventJson[] {
  const seen: BoardEventJson[] = [];
  socket.on('board:event', (event) => seen.push(event));
  return seen;
}

/** Waits until `check` passes (retrying, never sleeping a fixed time), or fails after `ms`. */
export async function eventually(check: () => void | Promise<void>, ms = SETTLE_MS): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

/** `editor` says it edits `taskId` on the board `projectId`; resolves once `watcher` is sent a presence list that shows it. */
export async function markEditing(watcher: ClientSocket, editor: ClientSocket, projectId: string, taskId: string): Promise<void> {
  const shown = nextEvent<{ viewers: Array<{ editingTaskId?: string }> }>(watcher, 'presence:changed', (p) =>
    p.viewers.some((v) => v.editingTaskId === taskId),
  );
  await ok(editor, 'presence:update', { projectId, editingTaskId: taskId });
  await shown;
}

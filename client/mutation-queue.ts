import type { Socket } from 'socket.io-client';
import type { Ack } from '../shared/events.js';
import { RETRYABLE, TaskFlowError } from './errors.js';

export type MutationEvent =
  'task:create' | 'task:update' | 'task:move' | 'task:delete' | 'column:create' | 'column:update' | 'column:move' | 'column:delete';

interface PendingMutation {
  event: MutationEvent;
  payload: { clientMutationId: string };
  resolve(data: unknown): void;
  reject(error: Error): void;
  attempts: number;
}

const MAX_ATTEMPTS = 20;

/**
 * Mutations until the server acknowledges them. Each carries a `clientMutationId` and is sent
 * again with the same id after an ack timeout, a retryable refusal or a reconnect, so the server
 * applies it once however often it arrives. A refusal rejects its promise with a TaskFlowError.
 */
export class MutationQueue {
  private readonly pending = new Map<string, PendingMutation>();

  constructor(
    private readonly options: {
      ackTimeoutMs: number;
      /** The socket to send on, when there is a live one. */
      socket: () => Socket | null;
      /** Runs with each acknowledged answer, before its promise resolves. */
      acknowledged: (data: unknown) => void;
    },
  ) {}

  get size(): number {
    return this.pending.size;
  }

  add<T>(event: MutationEvent, input: object, sendNow: boolean): Promise<T> {
    const payload = { ...input, clientMutationId: randomId() };
    return new Promise<T>((resolve, reject) => {
      const mutation: PendingMutation = { event, payload, resolve: resolve as (data: unknown) => void, reject, attempts: 0 };
      this.pending.set(payload.clientMutationId, mutation);
      if (sendNow) void this.send(mutation);
    });
  }

  /** Sends everything still unacknowledged (after a connect). */
  resendAll(): void {
    for (const mutation of this.pending.values()) void this.send(mutation);
  }

  /** Rejects everything still unacknowledged: whether it reached the server is unknown. */
  rejectAll(reason: Error): void {
    for (const mutation of this.pending.values()) mutation.reject(reason);
    this.pending.clear();
  }

  private async send(mutation: PendingMutation): Promise<void> {
    const socket = this.options.socket();
    if (!socket?.connected) return; // the next connect resends it
    if (mutation.attempts >= MAX_ATTEMPTS) {
      return this.settle(mutation, new TaskFlowError({ code: 'DISCONNECTED', message: 'no answer after many tries' }));
    }
    mutation.attempts += 1;
    let answer: Ack<unknown>;
    try {
      answer = (await socket.timeout(this.options.ackTimeoutMs).emitWithAck(mutation.event, mutation.payload)) as Ack<unknown>;
    } catch {
      // No ack in time. If the socket is still up, ask again; otherwise the next connect resends.
      if (socket.connected && this.pending.has(mutation.payload.clientMutationId)) void this.send(mutation);
      return;
    }
    if (!this.pending.has(mutation.payload.clientMutationId)) return;
    if (answer.ok) return this.settle(mutation, null, answer.data);
    if (RETRYABLE.has(answer.error.code) && socket.connected) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 100 * 2 ** mutation.attempts)));
      return void this.send(mutation);
    }
    this.settle(mutation, new TaskFlowError(answer.error));
  }

  private settle(mutation: PendingMutation, error: Error | null, data?: unknown): void {
    this.pending.delete(mutation.payload.clientMutationId);
    if (error) return mutation.reject(error);
    this.options.acknowledged(data);
    mutation.resolve(data);
  }
}

/** A random id; `crypto.randomUUID` exists only in secure contexts (https, localhost) in browsers. */
function randomId(): string {
  if (typeof globalThis.crypto.randomUUID === 'function') return globalThis.crypto.randomUUID();
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

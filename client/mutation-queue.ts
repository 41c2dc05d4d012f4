import type { Socket } from 'socket.io-client';
import { type Ack, MAX_MESSAGE_BYTES } from '../shared/events.js';
import type { WireError } from '../shared/errors.js';
import { namedDelayMs, TaskFlowError } from './errors.js';
import { Pauses } from './pauses.js';

export type MutationEvent =
  'task:create' | 'task:update' | 'task:move' | 'task:delete' | 'column:create' | 'column:update' | 'column:move' | 'column:delete';

/**
 * A mutation not yet acknowledged, handed over by a client that closes (`handOver`) to another of
 * the same user or key (`sendAgain`): its event and payload, `clientMutationId` included, and how
 * to settle the promise it was made with.
 */
export interface UnacknowledgedChange {
  readonly event: MutationEvent;
  readonly payload: { clientMutationId: string };
  resolve(data: unknown): void;
  reject(error: Error): void;
}

interface PendingMutation extends UnacknowledgedChange {
  /** Answered refusals worth another try, in a row, and how many of them were INTERNAL. */
  refused: Refused;
  /** How many times it was refused UNAUTHORIZED, each answered by a new connection (`MAX_UNAUTHORIZED`). */
  unauthorized: number;
}

export interface Refused {
  times: number;
  internal: number;
}

/** An INTERNAL answer is tried again this often, then reported: the try that answered it wrote nothing. */
const MAX_INTERNAL = 3;

/**
 * An UNAUTHORIZED answer (the credential expired, or its session was ended, as the change came) is
 * sent again on a new connection, whose handshake asks for the credentials afresh, this often at
 * most: a token provider's fresh token then carries it, and credentials refused for good close
 * the client, which rejects it with why.
 */
const MAX_UNAUTHORIZED = 3;

/**
 * Mutations until the server acknowledges them, sent one at a time in the order they were made
 * (one over the size a socket message may carry is refused at once, `PAYLOAD_TOO_LARGE`):
 * an edit made after another lands after it, also when both waited out a reconnect. Each carries
 * a `clientMutationId` and is sent again with the same id on the next connection when its
 * connection drops before the answer, or after a refusal worth another try (`RATE_LIMITED` after
 * the delay it names, `UNAVAILABLE` with backoff for as long as it takes, since the change may
 * have committed; `INTERNAL` a few times), so the server applies it once however often it
 * arrives. On a live connection the answer is awaited, never asked for again on a timer: the
 * server answers every event, `UNAVAILABLE` at its deadline at the latest. A connection with no
 * answer after `ackTimeoutMs` counts as broken (`broken`): the client drops it and sends the
 * mutation again on the next one. So does an UNAUTHORIZED answer (`MAX_UNAUTHORIZED`). Any other
 * refusal rejects its promise with a TaskFlowError.
 */
export class MutationQueue {
  private readonly queue: PendingMutation[] = [];
  private running = false;
  private again = false;
  /** The wait after a refusal, ended at once by `rejectAll` and `handOver`. */
  private readonly pauses = new Pauses();

  constructor(
    private readonly options: {
      ackTimeoutMs: number;
      /** The socket to send on, while the client is live. */
      socket: () => Socket | null;
      /** Runs with each acknowledged answer, before its promise resolves. */
      acknowledged: (data: unknown) => void;
      /** A live connection to drop: it left a mutation unanswered for `ackTimeoutMs`, or refused one UNAUTHORIZED. */
      broken: (socket: Socket) => void;
      /** How many mutations are unacknowledged, each time that changes. */
      resized: (size: number) => void;
    },
  ) {}

  get size(): number {
    return this.queue.length;
  }

  /** The payloads of the unacknowledged mutations of `event`, in the order they were made. */
  payloadsOf(event: MutationEvent): object[] {
    return this.queue.filter((mutation) => mutation.event === event).map((mutation) => ({ ...mutation.payload }));
  }

  /** Takes every unacknowledged mutation out, in order and unsettled, for another queue (`adopt`). */
  handOver(): UnacknowledgedChange[] {
    const taken = this.queue.splice(0);
    this.pauses.endAll();
    if (taken.length > 0) this.options.resized(0);
    return taken.map(({ event, payload, resolve, reject }) => ({ event, payload, resolve, reject }));
  }

  /** Sends mutations another queue handed over (`handOver`), after those this one holds, with their own ids. */
  adopt(changes: UnacknowledgedChange[]): void {
    if (changes.length === 0) return;
    for (const change of changes) this.queue.push({ ...change, refused: { times: 0, internal: 0 }, unauthorized: 0 });
    this.options.resized(this.queue.length);
    this.resume();
  }

  add<T>(event: MutationEvent, input: object): Promise<T> {
    const payload = { ...input, clientMutationId: randomId() };
    // The server closes a socket that sends it: sent, it would be sent again on every connection, for good.
    if (overMessageLimit(event, payload))
      return Promise.reject(
        new TaskFlowError({
          code: 'PAYLOAD_TOO_LARGE',
          message: `the change is over the ${MAX_MESSAGE_BYTES} bytes a socket message may carry`,
        }),
      );
    return new Promise<T>((resolve, reject) => {
      this.queue.push({
        event,
        payload,
        resolve: resolve as (data: unknown) => void,
        reject,
        refused: { times: 0, internal: 0 },
        unauthorized: 0,
      });
      this.options.resized(this.queue.length);
      this.resume();
    });
  }

  /** Sends what is unacknowledged, in order, if the client is live (after a connect, say). */
  resume(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    void this.run();
  }

  /** Rejects everything still unacknowledged: whether it reached the server is unknown. */
  rejectAll(reason: Error): void {
    const rejected = this.queue.splice(0);
    this.pauses.endAll();
    if (rejected.length > 0) this.options.resized(0);
    for (const mutation of rejected) mutation.reject(reason);
  }

  private async run(): Promise<void> {
    this.running = true;
    do {
      this.again = false;
      while (this.queue.length > 0 && (await this.attempt(this.queue[0]!)));
    } while (this.again);
    this.running = false;
  }

  /** Sends the first mutation once; answers whether to go on (false: no live connection to send on). */
  private async attempt(mutation: PendingMutation): Promise<boolean> {
    const socket = this.options.socket();
    if (!socket?.connected) return false;
    let answer: Ack<unknown>;
    try {
      answer = (await socket.timeout(this.options.ackTimeoutMs).emitWithAck(mutation.event, mutation.payload)) as Ack<unknown>;
    } catch {
      // The connection dropped, or hung: the next one sends the mutation again.
      if (socket.connected) this.options.broken(socket);
      return false;
    }
    if (this.queue[0] !== mutation) return true; // rejected meanwhile: the client was closed
    if (answer.ok) {
      this.settle(mutation, null, answer.data);
      return true;
    }
    if (answer.error.code === 'UNAUTHORIZED' && (mutation.unauthorized += 1) <= MAX_UNAUTHORIZED) {
      if (socket.connected) this.options.broken(socket); // the server closes it too; the next one signs in afresh
      return false;
    }
    const wait = afterRefusal(mutation.refused, answer.error);
    if (wait === null) this.settle(mutation, new TaskFlowError(answer.error));
    else await this.pauses.wait(wait);
    return true;
  }

  private settle(mutation: PendingMutation, error: Error | null, data?: unknown): void {
    this.queue.shift();
    this.options.resized(this.queue.length);
    if (error) return mutation.reject(error);
    this.options.acknowledged(data);
    mutation.resolve(data);
  }
}

/**
 * Counts a refusal of a mutation in `refused`, and answers how long to wait before sending it
 * again; null: the refusal is final. Only INTERNAL answers count toward `MAX_INTERNAL`:
 * UNAVAILABLE ones before them (a database away for a while) do not use up its tries.
 */
export function afterRefusal(refused: Refused, error: WireError): number | null {
  refused.times += 1;
  if (error.code === 'INTERNAL') refused.internal += 1;
  const backoff = Math.min(5000, 100 * 2 ** Math.min(refused.times, 10));
  if (error.code === 'RATE_LIMITED') return Math.min(namedDelayMs(error) ?? backoff, 60_000);
  if (error.code === 'UNAVAILABLE') return backoff;
  if (error.code === 'INTERNAL' && refused.internal < MAX_INTERNAL) return backoff;
  return null;
}

/** Room for socket.io's framing around the event and its payload (the packet type and the ack id). */
const FRAMING_BYTES = 32;

/** Whether the event with `payload`, as socket.io writes it (`["event", payload]` in UTF-8), is over what a socket may send. */
function overMessageLimit(event: string, payload: object): boolean {
  const text = JSON.stringify([event, payload]);
  const limit = MAX_MESSAGE_BYTES - FRAMING_BYTES;
  if (text.length * 3 <= limit) return false; // no character takes more than 3 bytes in UTF-8
  return new TextEncoder().encode(text).length > limit;
}

/** A random id; `crypto.randomUUID` exists only in secure contexts (https, localhost) in browsers. */
function randomId(): string {
  if (typeof globalThis.crypto.randomUUID === 'function') return globalThis.crypto.randomUUID();
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

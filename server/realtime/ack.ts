import type { ZodType } from 'zod';
import type { AccessRevokedReason, Ack, AckData, ClientEventName } from '../../shared/events.js';
import { overflowing } from '../account-lanes.js';
import type { AppContext } from '../context.js';
import { AccessLost, NO_ANSWER_IN_TIME, toWireError } from '../errors.js';
import { shuttingDown } from '../in-flight.js';
import { UnreadPayload } from '../json-values.js';
import type { Wire } from '../raw-json.js';
import type { Caller } from '../auth/caller.js';
import { principalRoom } from './rooms.js';
import { socketCaller } from './socket-caller.js';
import { NO_METRICS } from '../metrics/metrics.js';
import type { LocalSocket, TaskFlowSocket } from './types.js';

const UNKNOWN_EVENT = { code: 'VALIDATION_FAILED', message: 'unknown event' } as const;
/** An event that comes while its socket closes (`closeOnceAnswered`): the SDK sends it again once reconnected. */
const CLOSING = { code: 'UNAVAILABLE', message: 'this connection is closing; send it again once reconnected' } as const;

/** A handler's answer, and the org its socket turned out to have lost (see `answer`). */
interface Answered {
  ack: Ack<unknown>;
  lost?: AccessLost;
}

/** How one client event is served: its payload schema and what to do with a valid payload. */
export interface SocketHandler {
  schema: ZodType;
  /** Serves a valid payload; `caller` is the socket's for this event (`socketCaller`). */
  run(socket: TaskFlowSocket, payload: unknown, caller: Caller): Promise<unknown>;
}

export type HandlerTable = Partial<Record<ClientEventName, SocketHandler>>;

/** A typed entry of a handler table. */
export function on<E extends ClientEventName, P>(
  event: E,
  schema: ZodType<P>,
  run: (socket: TaskFlowSocket, payload: P, caller: Caller) => Promise<Wire<AckData<E>>>,
): HandlerTable {
  return { [event]: { schema, run } } as HandlerTable;
}

/**
 * The one place socket events meet the domain. Each socket gets one middleware, the last (after
 * the rate limit), that serves the table's events, instead of a listener per event: a socket
 * costs one closure rather than a dozen listener entries (about 0.6 KB of heap in all). Each
 * event's payload is parsed, the handler run, and the ack answered exactly once with
 * `{ok: true, data}` or `{ok: false, error}`. Nothing is thrown to the transport; an unexpected
 * error is logged and answered as INTERNAL. An event without an ack has no one to answer and is
 * ignored; an event the table does not name is answered VALIDATION_FAILED. At most
 * `RUNNING_PER_PRINCIPAL` events of one user or key run at once, with its HTTP requests
 * (`accountLanes`); the rest wait their turn, up to
 * one socket's burst (twice `SOCKET_RATE_LIMIT`), past which they are answered RATE_LIMITED. Once
 * the server has begun to stop, a new event is answered UNAVAILABLE at once (`InFlight`); one
 * that waits past `ANSWER_DEADLINE` (for the database, or for its turn) is answered UNAVAILABLE
 * then.
 */
export function serveEvents(
  ctx: Pick<AppContext, 'failures' | 'broadcaster' | 'inFlight' | 'config' | 'accountLanes' | 'metrics'>,
  table: HandlerTable,
): (socket: TaskFlowSocket) => void {
  const deadlineMs = ctx.config.answerDeadline * 1000;
  const lanes = ctx.accountLanes;
  const counted = ctx.metrics !== NO_METRICS;
  const tooManyWaiting = toWireError(overflowing(ctx.config.socketRateLimit, { retryAfterMs: 1000 })).error;
  /**
   * The handler's answer to the payload: its data, or the error it threw, in wire form; and,
   * where the database says this socket lost the org (or its session was ended), the kick that
   * never reached it, made good once the answer is sent (a revoked key's socket, or an ended
   * session's, is closed then, and must get its answer first).
   */
  async function answer(
    socket: TaskFlowSocket,
    event: string,
    handler: SocketHandler,
    payload: unknown,
    caller: Caller,
  ): Promise<Answered> {
    try {
      if (payload instanceof UnreadPayload) throw payload.refusal;
      return { ack: { ok: true, data: await handler.run(socket, handler.schema.parse(payload), caller) } };
    } catch (thrown) {
      const error = ctx.failures.answer(thrown, { event }, 'socket event failed');
      return { ack: { ok: false, error }, ...(thrown instanceof AccessLost ? { lost: thrown } : {}) };
    }
  }
  const served = new Map(
    Object.entries(table).map(([event, handler]) => {
      async function serve(socket: TaskFlowSocket, args: unknown[]): Promise<void> {
        const reply = args.at(-1);
        if (typeof reply !== 'function') return;
        const began = counted ? performance.now() : 0;
        const ack = counted
          ? (answer: Ack<unknown>) => {
              reply(answer);
              ctx.metrics.socketEvent(event, answer.ok ? 'ok' : answer.error.code, (performance.now() - began) / 1000);
            }
          : (reply as (answer: Ack<unknown>) => void);
        if (socket.data.closeWhenAnswered) {
          ack({ ok: false, error: CLOSING });
          return;
        }
        const principal = principalRoom(socket.data.principal);
        if (lanes.full(principal)) {
          ack({ ok: false, error: tooManyWaiting });
          return;
        }
        if (!ctx.inFlight.enter()) {
          ack({ ok: false, error: toWireError(shuttingDown()).error });
          return;
        }
        // No ack is left unanswered: a handler still waiting at the deadline (its database
        // connection went silent mid-transaction, which TCP may take a quarter of an hour to
        // notice) is answered UNAVAILABLE. A change that commits after that is in the log, where a
        // retry with its clientMutationId finds it, and is broadcast as any other, to its sender too.
        const caller = socketCaller(socket);
        let timer: NodeJS.Timeout | undefined;
        let expired = false;
        const late = new Promise<Answered>((resolve) => {
          timer = setTimeout(() => {
            expired = true;
            caller.socketId = undefined; // it learns of the change from no answer now
            ctx.failures.answeredAtDeadline({ event });
            resolve({ ack: { ok: false, error: NO_ANSWER_IN_TIME } });
          }, deadlineMs);
        });
        // An event that waited in its principal's lane past the deadline was answered: it does not run.
        const kickLost = (lost?: AccessLost) => {
          if (lost?.reason === 'signed_out') ctx.broadcaster.endSessions({ socketId: socket.id }, Infinity);
          else if (lost?.reason === 'token_expired') endCredential(socket, 'token_expired');
          else if (lost) ctx.broadcaster.revoke({ socketId: socket.id }, lost.orgId, lost.reason);
        };
        const run = async () => {
          if (expired) return late;
          const answered = await answer(socket, event, handler, args.length > 2 ? args[1] : undefined, caller);
          if (expired) kickLost(answered.lost); // answered at the deadline already
          return answered;
        };
        socket.data.running += 1;
        try {
          const answered = await Promise.race([lanes.run(principal, run), late]);
          ack(answered.ack);
          if (!expired) kickLost(answered.lost);
        } finally {
          clearTimeout(timer);
          ctx.inFlight.leave();
          doneWith(socket);
        }
      }
      return [event, serve] as const;
    }),
  );
  return (socket) => {
    socket.use((packet) => {
      const serve = served.get(packet[0]);
      const ack = packet.at(-1);
      if (serve) void serve(socket, packet);
      else if (typeof ack === 'function') {
        ack({ ok: false, error: UNKNOWN_EVENT });
        ctx.metrics.socketEvent(packet[0], UNKNOWN_EVENT.code, 0);
      }
    });
  };
}

/**
 * Closes the socket (`close`) once its events under way are answered, now if none runs: no ack of
 * an event the server took is left unanswered, nor a change that committed unacknowledged. The
 * events it sends meanwhile are answered UNAVAILABLE at once.
 */
export function closeOnceAnswered(socket: Pick<TaskFlowSocket, 'data'>, close: () => void): void {
  if (socket.data.running === 0) close();
  else socket.data.closeWhenAnswered ??= close;
}

/**
 * Ends a socket whose credential is no more (expired, or its session ended): `access:revoked`
 * with no org, then, once its events under way are answered, a disconnect; once.
 */
export function endCredential(socket: LocalSocket, reason: AccessRevokedReason): void {
  if (socket.data.closeWhenAnswered || ('connected' in socket && !socket.connected)) return;
  socket.emit('access:revoked', { orgId: null, reason });
  // A DISCONNECT packet after the message above (close=true could drop it).
  closeOnceAnswered(socket, () => socket.disconnect());
}

/** Counts one of the socket's events as answered: a socket waiting to close closes once none runs. */
function doneWith(socket: TaskFlowSocket): void {
  socket.data.running -= 1;
  if (socket.data.running === 0) socket.data.closeWhenAnswered?.();
}

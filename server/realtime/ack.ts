import type { ZodType } from 'zod';
import type { Ack, ClientEventName, ClientToServerEvents } from '../../shared/events.js';
import type { AppContext } from '../context.js';
import { AccessLost, toWireError } from '../errors.js';
import type { TaskFlowSocket } from './types.js';

type AckData<E extends ClientEventName> = Parameters<ClientToServerEvents[E]>[1] extends (answer: Ack<infer D>) => void ? D : never;

/**
 * The one place socket events meet the domain: parse the payload, run the handler, answer the
 * ack exactly once with `{ok: true, data}` or `{ok: false, error}`. Nothing is thrown to the
 * transport; an unexpected error is logged and answered as INTERNAL.
 */
export function handle<E extends ClientEventName, P>(
  socket: TaskFlowSocket,
  ctx: Pick<AppContext, 'log' | 'broadcaster'>,
  event: E,
  schema: ZodType<P>,
  run: (payload: P) => Promise<AckData<E>>,
): void {
  socket.on(event, (async (...args: unknown[]) => {
    const ack = args.at(-1);
    if (typeof ack !== 'function') return; // every event takes an ack; without one there is no one to answer
    const payload = args.length > 1 ? args[0] : undefined;
    let answer: Ack<AckData<E>>;
    try {
      answer = { ok: true, data: await run(schema.parse(payload)) };
    } catch (thrown) {
      const { error, unexpected } = toWireError(thrown);
      if (unexpected) ctx.log.error({ err: thrown, event }, 'socket event failed');
      answer = { ok: false, error };
      // The database says this socket lost the org: make good a kick that never reached it.
      if (thrown instanceof AccessLost) ctx.broadcaster.revoke({ socketId: socket.id }, thrown.orgId, thrown.reason);
    }
    ack(answer);
  }) as never);
}

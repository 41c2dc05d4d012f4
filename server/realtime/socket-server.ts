import type { Server as HttpServer } from 'node:http';
import { Server, type ServerOptions } from 'socket.io';
import { Decoder } from 'socket.io-parser';
import { MAX_MESSAGE_BYTES } from '../../shared/events.js';
import { authenticate } from '../auth/authenticate.js';
import { boardHandlers } from '../board/board.handlers.js';
import { columnHandlers } from '../columns/columns.handlers.js';
import type { AppContext } from '../context.js';
import { DomainError, NO_ANSWER_IN_TIME } from '../errors.js';
import { leavePresenceOnDisconnect, presenceHandlers } from '../presence/presence.handlers.js';
import type { Presence } from '../presence/presence.js';
import { RawJsonEncoder } from '../raw-json.js';
import { taskHandlers } from '../tasks/tasks.handlers.js';
import { serveEvents } from './ack.js';
import { createCredentialExpiry } from './credential-expiry.js';
import { orgRoomsOf, principalRoom } from './rooms.js';
import { dropSlowReaders } from './slow-readers.js';
import { createSocketRateLimit } from './socket-rate-limit.js';
import type { Revocations } from './revocation.js';
import { originAllowed } from './allowed-origin.js';
import type { TaskFlowServer, TaskFlowSocket } from './types.js';

export function createSocketServer(
  httpServer: HttpServer,
  options: { corsOrigins: string[] | null; publicUrl: string; adapter?: ServerOptions['adapter'] },
): TaskFlowServer {
  return new Server(httpServer, {
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    serveClient: false,
    parser: { Encoder: RawJsonEncoder, Decoder },
    cors: options.corsOrigins ? { origin: options.corsOrigins, credentials: true } : undefined,
    allowRequest: (request, answer) => answer(null, originAllowed(request, options.publicUrl, options.corsOrigins)),
    ...(options.adapter ? { adapter: options.adapter } : {}),
  });
}

/**
 * Accepts sockets: the handshake (a valid token or key, else `connect_error` UNAUTHORIZED; a
 * database that does not answer in time, UNAVAILABLE), then the event handlers. Answers what to
 * stop when the server closes.
 */
export function acceptSockets(io: TaskFlowServer, ctx: AppContext, presence: Presence, revocations: Revocations): { stop(): void } {
  const expiry = createCredentialExpiry(io);
  dropSlowReaders(io, ctx.config.socketBacklogLimit * 2 ** 20, ctx.log);
  // Where each handshake under way began among this node's revocations (see `Revocations`).
  const handshakeMarks = new WeakMap<TaskFlowSocket, number>();
  io.use(async (socket, next) => {
    // Answered within ANSWER_DEADLINE, as every event is: a database gone silent fails the
    // handshake UNAVAILABLE, and the client tries again, or another node, instead of waiting.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new DomainError(NO_ANSWER_IN_TIME.code, NO_ANSWER_IN_TIME.message)),
        ctx.config.answerDeadline * 1000,
      );
    });
    try {
      handshakeMarks.set(socket, revocations.mark());
      const { principal, expiresAt, orgIds } = await Promise.race([authenticate(ctx, socket.handshake.auth ?? {}), late]);
      socket.data = { principal, expiresAt, orgIds, editing: {}, running: 0 };
      socket.handshake.auth = {}; // the credential is spent: keep no copy per socket
      next();
    } catch (thrown) {
      next(new Error(ctx.failures.answer(thrown, {}, 'socket handshake failed').code));
    } finally {
      clearTimeout(timer);
    }
  });
  const rateLimit = createSocketRateLimit(ctx.config.socketRateLimit);
  const serve = serveEvents(ctx, {
    ...boardHandlers(ctx, presence),
    ...presenceHandlers(ctx, presence),
    ...taskHandlers(ctx),
    ...columnHandlers(ctx),
  });
  io.on('connection', (socket) => {
    rateLimit?.(socket);
    void socket.join([principalRoom(socket.data.principal), ...orgRoomsOf(socket.data.principal, socket.data.orgIds)]);
    // A removal or revocation applied while its handshake read the orgs found it in no room yet.
    const mark = handshakeMarks.get(socket)!;
    handshakeMarks.delete(socket);
    if (!revocations.applyMissed(socket, mark)) return void socket.disconnect(true);
    expiry.track(socket);
    leavePresenceOnDisconnect(presence, socket);
    serve(socket);
  });
  return { stop: () => expiry.stop() };
}

/**
 * Closes every socket's connection once what is queued for it has been written (engine.io's
 * close without discard, where `io.close()` would drop it): its client sees a lost transport and
 * reconnects, to another node or to this one restarted. Resolves when all are closed, or after
 * `withinMs`.
 */
export async function closeConnections(io: TaskFlowServer, withinMs: number): Promise<void> {
  const connections = new Set([...io.of('/').sockets.values()].map((socket) => socket.conn));
  const closed = [...connections].map(
    (connection) =>
      new Promise<void>((resolve) => {
        connection.once('close', () => resolve());
        connection.close();
      }),
  );
  await Promise.race([Promise.all(closed), new Promise<void>((resolve) => setTimeout(resolve, withinMs).unref())]);
}

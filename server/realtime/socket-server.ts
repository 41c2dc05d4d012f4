import type { IncomingMessage as HttpIncomingMessage, Server as HttpServer } from 'node:http';
import { Server, type ServerOptions } from 'socket.io';
import { Decoder, PacketType } from 'socket.io-parser';
import { MAX_MESSAGE_BYTES, MAX_MESSAGE_VALUES } from '../../shared/events.js';
import type { WireError } from '../../shared/errors.js';
import { authenticate } from '../auth/authenticate.js';
import { boardHandlers } from '../board/board.handlers.js';
import { columnHandlers } from '../columns/columns.handlers.js';
import type { AppContext } from '../context.js';
import { DomainError, NO_ANSWER_IN_TIME } from '../errors.js';
import { leavePresenceOnDisconnect, presenceHandlers } from '../presence/presence.handlers.js';
import type { Presence } from '../presence/presence.js';
import { countValues, currentTurn, tooManyValues, tooManyValuesAtOnce, UnreadPayload } from '../json-values.js';
import { RawJsonEncoder } from '../raw-json.js';
import { taskHandlers } from '../tasks/tasks.handlers.js';
import { serveEvents } from './ack.js';
import { createCredentialExpiry } from './credential-expiry.js';
import { orgRoomsOf, principalRoom } from './rooms.js';
import { dropSlowReaders } from './slow-readers.js';
import { limitSocketReads } from './socket-read-limit.js';
import { createSocketRateLimit } from './socket-rate-limit.js';
import type { AccessOrders } from './access-orders.js';
import { securityHeadersOnSockets } from '../http/security-headers.js';
import { originAllowed } from './allowed-origin.js';
import type { TaskFlowServer, TaskFlowSocket } from './types.js';

export function createSocketServer(
  httpServer: HttpServer,
  options: { corsOrigins: string[] | null; publicUrl: string; adapter?: ServerOptions['adapter'] },
): TaskFlowServer {
  const io: TaskFlowServer = new Server(httpServer, {
    // A message over it closes its connection (DESIGN §6), a WebSocket's and, since engine.io
    // 6.6.13, a long-polling session whose POST passes it (answered 413): its client waits on no ack.
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    serveClient: false,
    parser: { Encoder: RawJsonEncoder, Decoder: JsonOnlyDecoder },
    cors: options.corsOrigins ? { origin: options.corsOrigins, credentials: true } : undefined,
    // JSONP polling (a `j` parameter) is engine.io's way round CORS for browsers without it: a
    // page of any site could drive a session through script tags, past CORS_ORIGINS. No client of
    // ours uses it; the other transports stay (socket.io-client begins with long-polling).
    allowRequest: (request, answer) =>
      answer(null, originAllowed(request, options.publicUrl, options.corsOrigins) && !asksForJsonp(request)),
    ...(options.adapter ? { adapter: options.adapter } : {}),
  });
  securityHeadersOnSockets(io, httpServer);
  return io;
}

/**
 * socket.io's decoder, refusing binary attachments: no event of the contract carries any, and
 * `maxHttpBufferSize` limits each attachment, not the message, so a packet announcing ten of them
 * was a message of 10 MiB, held until its last part came, before any handshake too (the limits
 * review: 40 such connections with no account took a node from 175 to 529 MB). A packet that
 * announces one, or binary data, fails to decode, and socket.io closes its connection, as it does
 * a message over 1 MiB.
 */
class JsonOnlyDecoder extends (Decoder as unknown as ParsingDecoder) {
  /** The turn of the event loop this connection's messages were last read in, and the values they held in it. */
  private turn = -1;
  private valuesThisTurn = 0;
  /** Whether the packet being decoded is a handshake (CONNECT, type 0), whose payload is its `auth`. */
  private handshake = false;
  /** Whether the packet being decoded is an event (EVENT, type 2), whose ack must be answered. */
  private event = false;

  constructor() {
    super({ maxAttachments: 0 });
  }

  override add(packet: unknown): void {
    this.handshake = typeof packet === 'string' && packet.startsWith('0');
    this.event = typeof packet === 'string' && packet.startsWith('2');
    try {
      super.add(packet);
    } finally {
      this.handshake = this.event = false;
    }
  }

  /**
   * A packet's JSON, counted before it is parsed (`countValues`). One of more than
   * `MAX_MESSAGE_VALUES` values is not parsed, nor one that would take the connection's messages
   * read in this turn of the event loop past that many in all (a long-polling POST carries many
   * packets, each decoded at once): it is handed on as an `UnreadPayload`, so that an event's ack is
   * answered VALIDATION_FAILED (`tooManyValues`) or RATE_LIMITED (`tooManyValuesAtOnce`), and a
   * handshake's `connect_error` too (a packet of another kind fails to decode and its connection is
   * closed). An event socket.io would refuse (`asEvent`) is answered `unknown event`. A handshake's
   * `auth` that is not an object (a bare token string, say), or not JSON at all, is a handshake with
   * no credential, answered UNAUTHORIZED, where socket.io would close the connection unanswered and
   * its client try again, and again.
   */
  override tryParse(json: string): unknown {
    const values = countValues(json, MAX_MESSAGE_VALUES);
    const turn = currentTurn();
    if (turn !== this.turn) {
      this.turn = turn;
      this.valuesThisTurn = 0;
    }
    const refused =
      values > MAX_MESSAGE_VALUES ? tooManyValues() : this.valuesThisTurn + values > MAX_MESSAGE_VALUES ? tooManyValuesAtOnce() : null;
    if (refused === null) {
      this.valuesThisTurn += values;
      const parsed = super.tryParse(json);
      if (this.handshake) return typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) ? {} : parsed;
      return this.asEvent(parsed);
    }
    if (this.handshake) return new UnreadPayload(refused);
    const quoted = /^\[("(?:[^"\\]|\\.){1,100}")[,\]]/.exec(json.slice(0, 256))?.[1];
    const event = quoted === undefined ? false : super.tryParse(quoted);
    return this.asEvent([event, new UnreadPayload(refused)]);
  }

  /**
   * An event's JSON as socket.io takes it. One it would refuse (a name it keeps for itself, such as
   * `connect` or `disconnect`, a name that is not a string, no name, not JSON) is handed on under a
   * name no handler has, so that its ack is answered `unknown event`, as any other name's is,
   * where socket.io would close the connection with the ack unanswered.
   */
  private asEvent(parsed: unknown): unknown {
    if (!this.event || (Decoder as unknown as PayloadCheck).isPayloadValid(PacketType.EVENT, parsed)) return parsed;
    return [UNREADABLE_EVENT_NAME];
  }
}

/** Where an event's name socket.io would refuse is put (`JsonOnlyDecoder.tryParse`): no handler has it. */
const UNREADABLE_EVENT_NAME = ' unreadable event name';

/** socket.io-parser's check of a packet's JSON (private in its typings): an event's must be an array, its name a string of its own or a number. */
interface PayloadCheck {
  isPayloadValid(type: PacketType, payload: unknown): boolean;
}

/** socket.io-parser's decoder, with the method that parses a packet's JSON (private in its typings; `false` when it is not JSON), and `add` as a method. */
type ParsingDecoder = new (options: {
  maxAttachments: number;
}) => Omit<Decoder, 'add'> & { add(packet: unknown): void; tryParse(json: string): unknown };

function asksForJsonp(request: HttpIncomingMessage): boolean {
  return new URL(request.url ?? '/', 'http://localhost').searchParams.has('j');
}

/**
 * Handshakes one connection may ask for: a client whose handshake was refused may try again on
 * the same connection (with a fresh token, say), but socket.io starts a handshake for every
 * CONNECT packet of a connection that has no socket yet, so one WebSocket, or one long-polling
 * POST, could otherwise ask for thousands at once, each a database read (the wire review: 20,000
 * CONNECTs in one WebSocket, with no account, held every tenant's events for 10 s and took the
 * node's memory from 217 to 901 MB).
 */
export const HANDSHAKES_PER_CONNECTION = 3;
const TOO_MANY_HANDSHAKES: WireError = {
  code: 'RATE_LIMITED',
  message: `one handshake at a time, and ${HANDSHAKES_PER_CONNECTION} a connection`,
};

/**
 * A handshake's refusal: its `message` is the code (DESIGN §7: `connect_error` `UNAUTHORIZED`), and
 * its `data` the whole answer, as an HTTP request would get it, so that a client can tell what to
 * mend ("send a token or an API key, not both").
 */
function handshakeRefusal(answer: WireError): Error & { data: WireError } {
  return Object.assign(new Error(answer.code), { data: answer });
}

/**
 * Accepts sockets: the handshake (a valid token or key, else `connect_error` UNAUTHORIZED; a
 * database that does not answer in time, UNAVAILABLE), then the event handlers. A connection gets
 * one handshake at a time and `HANDSHAKES_PER_CONNECTION` in all: one that asks for more is closed.
 * Answers what to stop when the server closes.
 */
export function acceptSockets(io: TaskFlowServer, ctx: AppContext, presence: Presence, accessOrders: AccessOrders): { stop(): void } {
  const expiry = createCredentialExpiry(io);
  dropSlowReaders(io, ctx.config.socketBacklogLimit * 2 ** 20, ctx.log);
  // Where each handshake under way began among this node's orders of access (see `AccessOrders`).
  const handshakeMarks = new WeakMap<TaskFlowSocket, number>();
  const handshakesOf = new WeakMap<TaskFlowSocket['conn'], { underWay: boolean; asked: number }>();
  io.use(async (socket, next) => {
    const connection = socket.conn;
    const handshakes = handshakesOf.get(connection) ?? { underWay: false, asked: 0 };
    handshakesOf.set(connection, handshakes);
    if (handshakes.underWay || handshakes.asked >= HANDSHAKES_PER_CONNECTION) {
      // No client of ours asks twice at once, nor this often: the connection is closed, the
      // handshake under way with it, once the refusal (sent on the next tick) is written.
      next(handshakeRefusal(TOO_MANY_HANDSHAKES));
      setImmediate(() => connection.close());
      return;
    }
    handshakes.underWay = true;
    handshakes.asked += 1;
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
      handshakeMarks.set(socket, accessOrders.mark());
      const auth = socket.handshake.auth ?? {};
      if (auth instanceof UnreadPayload) throw auth.refusal;
      const { principal, expiresAt, orgIds } = await Promise.race([authenticate(ctx, auth), late]);
      socket.data = { principal, expiresAt, orgIds, editing: {}, running: 0 };
      socket.handshake.auth = {}; // the credential is spent: keep no copy per socket
      next();
    } catch (thrown) {
      next(handshakeRefusal(ctx.failures.answer(thrown, {}, 'socket handshake failed')));
    } finally {
      handshakes.underWay = false;
      clearTimeout(timer);
    }
  });
  const rateLimit = createSocketRateLimit(ctx.config.socketRateLimit, ctx.metrics);
  const readLimit = limitSocketReads(io, ctx.config.socketReadLimit * 1024);
  const serve = serveEvents(ctx, {
    ...boardHandlers(ctx, presence),
    ...presenceHandlers(ctx, presence),
    ...taskHandlers(ctx),
    ...columnHandlers(ctx),
  });
  io.on('connection', (socket) => {
    rateLimit?.(socket);
    readLimit?.track(socket);
    void socket.join([principalRoom(socket.data.principal), ...orgRoomsOf(socket.data.principal, socket.data.orgIds)]);
    // A removal, revocation or admission applied while its handshake read the orgs found it in no room yet.
    const mark = handshakeMarks.get(socket)!;
    handshakeMarks.delete(socket);
    if (!accessOrders.applyMissed(socket, mark)) return void socket.disconnect(true);
    expiry.track(socket);
    leavePresenceOnDisconnect(presence, socket);
    serve(socket);
  });
  return {
    stop: () => {
      expiry.stop();
      readLimit?.stop();
    },
  };
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

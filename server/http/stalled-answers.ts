import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** How long an HTTP answer may wait with its client taking none of it before its connection is closed. */
export const STALLED_ANSWER_MS = 30_000;

/**
 * Closes the connection of an HTTP answer whose client has stopped reading it: `stallMs` with
 * none of what waits for the client taken (the kernel's buffers full, the rest held by this
 * process). Without it a client could ask for a big board over HTTP on many connections and
 * never read, each answer held in memory for good (the limits review: 20 such requests for a
 * 16 MB board took a node from 213 MB to 1.4 GB). A slow reader keeps its connection as long as it
 * takes some of the answer every `stallMs`; sockets have `SOCKET_BACKLOG_LIMIT` for the same.
 * Every answer of the HTTP server is watched, engine.io's to long-polling clients too, which never
 * pass through Fastify: a poll's answer, once written, is the HTTP connection's alone (30 polling
 * sessions, each joining a 6 MB board and not reading the poll that carried it, held 495 MB of the
 * node's memory until their clients went). Answers the answers under way, which
 * `NODE_BACKLOG_LIMIT` counts (`shedBacklogs`).
 */
export function closeStalledAnswers(app: FastifyInstance, stallMs = STALLED_ANSWER_MS): ReadonlySet<ServerResponse> {
  const underWay = new Set<ServerResponse>();
  /** Its path alone in the log: a query may carry a secret (an invitation's token, a polling session's id). */
  function watch(request: IncomingMessage, answer: ServerResponse, socket: Socket): void {
    underWay.add(answer);
    let before = waitingBytes(socket);
    const timer = setInterval(() => {
      const now = waitingBytes(socket);
      if (now === 0 || now < before) {
        before = now;
        return;
      }
      clearInterval(timer);
      app.log.warn(
        { path: request.url?.split('?')[0], address: socket.remoteAddress, waitingBytes: now },
        'closed a connection whose client stopped reading its answer',
      );
      socket.destroy();
    }, stallMs);
    timer.unref();
    // Emitted once it has left, or its connection has closed.
    answer.once('close', () => {
      clearInterval(timer);
      underWay.delete(answer);
    });
  }
  app.server.prependListener('request', (request: IncomingMessage, answer: ServerResponse) => {
    // An answer queued behind another on its connection (pipelined) is watched once it has the connection.
    if (answer.socket) watch(request, answer, answer.socket);
    else answer.once('socket', (socket: Socket) => watch(request, answer, socket));
  });
  return underWay;
}

/** Per connection: the answer to its latest request. */
const latestAnswer = new WeakMap<Socket, ServerResponse>();

/**
 * Answers a connection's requests one at a time: a request sent before the answer to the one
 * before it has left (pipelined) is taken up once it has. A client could otherwise send many
 * requests for a big board in one packet and read none of the answers, each made and held in
 * memory at once (the attacker review: 10 connections of 20 such requests for a 7.8 MB board took
 * a node from 238 MB to 2.5 GB); now a connection holds one, until `closeStalledAnswers` closes it.
 * Browsers do not pipeline, so their requests never wait here, and no listener is added for them.
 */
export function answerInTurn(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    const socket = request.raw.socket;
    const before = latestAnswer.get(socket);
    latestAnswer.set(socket, reply.raw);
    if (!before || before.writableFinished || socket.destroyed) return;
    await new Promise<void>((resolve) => {
      const go = () => {
        before.off('finish', go);
        socket.off('close', go);
        resolve();
      };
      before.once('finish', go);
      socket.once('close', go);
    });
    // Its connection closed meanwhile (stalled, or its client gone): there is no one left to answer.
    if (socket.destroyed) reply.hijack();
  });
}

/** What waits to leave for the client: in the socket's stream buffer, and in libuv's queue (a write the kernel took part of). */
function waitingBytes(socket: Socket): number {
  const handle = (socket as Socket & { _handle?: { writeQueueSize?: number } | null })._handle;
  return socket.writableLength + (handle?.writeQueueSize ?? 0);
}

import type { ServerResponse } from 'node:http';
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
 * Answers the answers being written, which `NODE_BACKLOG_LIMIT` counts (`shedBacklogs`).
 */
export function closeStalledAnswers(app: FastifyInstance, stallMs = STALLED_ANSWER_MS): ReadonlySet<ServerResponse> {
  const beingWritten = new Set<ServerResponse>();
  app.addHook('onSend', async (request, reply, payload) => {
    // Its client gone before the answer was ready: nothing will take it, and no close is to come
    // that would stop a watch (which held the request and its connection for good).
    if (reply.raw.closed) return payload;
    beingWritten.add(reply.raw);
    const socket = request.raw.socket;
    let before = waitingBytes(socket);
    const timer = setInterval(() => {
      const now = waitingBytes(socket);
      if (now === 0 || now < before) {
        before = now;
        return;
      }
      clearInterval(timer);
      request.log.warn({ waitingBytes: now }, 'closed a connection whose client stopped reading its answer');
      socket.destroy();
    }, stallMs);
    timer.unref();
    reply.raw.once('close', () => {
      clearInterval(timer);
      beingWritten.delete(reply.raw);
    });
    return payload;
  });
  return beingWritten;
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

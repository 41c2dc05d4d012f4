import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

/** How long a connection answered before its request's body came is kept reading what still comes. */
export const LINGER_MS = 5_000;
/** How much of what still comes it reads, and drops, before it is closed all the same. */
export const LINGER_BYTES = 64 * 1024 * 1024;

/**
 * An answer sent before its request's body has all come (413 for a body over 1 MiB) closes the
 * connection, as it must: the rest of the body is not read as a request. Node closed it at once,
 * and what the client was still sending met a closed socket, which the kernel answers with a
 * reset: a client still uploading (a chunked body, a slow link) often saw the connection reset
 * and never the 413. As web servers do (nginx's lingering close), the connection is now shut for
 * writing once its answer has gone, and what still comes is read and dropped, unparsed, until the
 * client closes its side, for at most `LINGER_MS` and `LINGER_BYTES`; then it is closed.
 */
export function lingerAfterEarlyAnswers(app: FastifyInstance): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete) lingerIfClosedBy(reply.raw, request.raw.socket);
    done(null, payload);
  });
}

/**
 * Node closes a connection whose answer ends it (`Connection: close`) with the socket's
 * `destroySoon`, as the answer's `finish` is emitted: for this answer, the socket lingers instead.
 * A kept connection's later answers close as usual.
 */
function lingerIfClosedBy(answer: ServerResponse, socket: Socket): void {
  socket.destroySoon = linger;
  answer.once('finish', () => delete (socket as Partial<Socket>).destroySoon);
}

function linger(this: Socket): void {
  // Nothing more for the HTTP parser: the server must not take a request that follows (RFC 9112 §9.6).
  this.removeAllListeners('data');
  this.removeAllListeners('end');
  this.end();
  const close = (): void => {
    clearTimeout(deadline);
    this.destroy();
  };
  const deadline = setTimeout(close, LINGER_MS).unref();
  let read = 0;
  // A listener of its own also takes the socket back from the parser, which read it directly.
  this.on('data', (chunk: Buffer) => {
    read += chunk.length;
    if (read > LINGER_BYTES) close();
  });
  this.once('end', close);
  this.once('close', () => clearTimeout(deadline));
  this.resume();
}

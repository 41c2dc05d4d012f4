import { closeOnceAnswered } from './ack.js';
import type { TaskFlowServer, TaskFlowSocket } from './types.js';

export interface CredentialExpiry {
  /** Ends the socket when its credential expires: `access:revoked` (token_expired), then, once its events under way are answered, a disconnect. */
  track(socket: TaskFlowSocket): void;
  stop(): void;
}

/**
 * One timer for every socket's credential expiry, instead of a timer and a listener per socket:
 * socket ids wait in buckets by the second they expire, and each second's bucket is checked
 * against the sockets still connected.
 */
export function createCredentialExpiry(io: TaskFlowServer): CredentialExpiry {
  const due = new Map<number, string[]>();
  let next = Math.floor(Date.now() / 1000);

  const expire = (socket: TaskFlowSocket) => {
    socket.emit('access:revoked', { orgId: null, reason: 'token_expired' });
    // A DISCONNECT packet after the message above (close=true could drop it).
    closeOnceAnswered(socket, () => socket.disconnect());
  };

  const timer = setInterval(() => {
    const now = Math.floor(Date.now() / 1000);
    for (; next <= now; next++) {
      for (const id of due.get(next) ?? []) {
        const socket = io.sockets.sockets.get(id);
        if (socket) expire(socket);
      }
      due.delete(next);
    }
  }, 250);
  timer.unref();

  return {
    track(socket) {
      const at = socket.data.expiresAt;
      if (at === null) return;
      if (at < next) return expire(socket);
      const bucket = due.get(at);
      if (bucket) bucket.push(socket.id);
      else due.set(at, [socket.id]);
    },
    stop: () => clearInterval(timer),
  };
}

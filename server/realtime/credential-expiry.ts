import { endCredential } from './ack.js';
import type { TaskFlowServer, TaskFlowSocket } from './types.js';

export interface CredentialExpiry {
  /** Ends the socket when its credential expires: `access:revoked` (token_expired), then, once its events under way are answered, a disconnect. */
  track(socket: TaskFlowSocket): void;
  stop(): void;
}

/** How many ids of sockets gone may wait beyond as many as are connected, before they are swept out. */
export const EXPIRY_SWEEP_SLACK = 1024;

/**
 * Socket ids by the second their credential expires. A socket that disconnects leaves its id
 * behind (a listener per socket to take it out would cost every socket its memory): the ids of
 * sockets gone are swept out once the ids outnumber twice the live sockets and the slack, so a
 * node whose clients come and go, with tokens that last days (`TOKEN_TTL`), does not keep an id
 * for every socket it ever had until that token expires. A sweep reads every id; one comes after
 * at least as many `add`s as there are live sockets, so each `add` pays for one read.
 */
export class ExpiryBuckets {
  private readonly due = new Map<number, string[]>();
  private tracked = 0;

  constructor(
    private readonly isLive: (id: string) => boolean,
    private readonly liveCount: () => number,
  ) {}

  /** How many ids wait, of live sockets and of some gone since. */
  get size(): number {
    return this.tracked;
  }

  add(id: string, second: number): void {
    if (this.tracked >= 2 * this.liveCount() + EXPIRY_SWEEP_SLACK) this.sweep();
    const bucket = this.due.get(second);
    if (bucket) bucket.push(id);
    else this.due.set(second, [id]);
    this.tracked++;
  }

  /** Takes the ids due at `second` (a socket among them may be gone). */
  take(second: number): string[] {
    const ids = this.due.get(second) ?? [];
    this.due.delete(second);
    this.tracked -= ids.length;
    return ids;
  }

  private sweep(): void {
    this.tracked = 0;
    for (const [second, ids] of this.due) {
      const live = ids.filter(this.isLive);
      if (live.length > 0) this.due.set(second, live);
      else this.due.delete(second);
      this.tracked += live.length;
    }
  }
}

/**
 * One timer for every socket's credential expiry, instead of a timer and a listener per socket:
 * socket ids wait in buckets by the second they expire (`ExpiryBuckets`), and each second's
 * bucket is checked against the sockets still connected.
 */
export function createCredentialExpiry(io: TaskFlowServer): CredentialExpiry {
  const sockets = io.sockets.sockets;
  const due = new ExpiryBuckets(
    (id) => sockets.has(id),
    () => sockets.size,
  );
  let next = Math.floor(Date.now() / 1000);

  const timer = setInterval(() => {
    const now = Math.floor(Date.now() / 1000);
    for (; next <= now; next++) {
      for (const id of due.take(next)) {
        const socket = sockets.get(id);
        if (socket) endCredential(socket, 'token_expired');
      }
    }
  }, 250);
  timer.unref();

  return {
    track(socket) {
      const at = socket.data.expiresAt;
      if (at === null) return;
      if (at < next) return endCredential(socket, 'token_expired');
      due.add(socket.id, at);
    },
    stop: () => clearInterval(timer),
  };
}

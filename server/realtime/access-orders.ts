import type { Presence } from '../presence/presence.js';
import { closeOnceAnswered, endCredential } from './ack.js';
import { leftRoom } from './room-joins.js';
import { orgRoom } from './rooms.js';
import type { AccessOrder, AdmitOrder, LocalSocket, RevokeOrder, TaskFlowServer, TaskFlowSocket } from './types.js';

/** A socket of this node, as the server holds it or as `fetchSockets` gives it. */

/** How long this node remembers an order for sockets still in their handshake. */
const REMEMBER_MS = 60_000;

/**
 * Applies changes of access (revocations, and admissions to an org) to this node's sockets, and
 * remembers them a minute for the sockets whose handshake was under way: a handshake reads the
 * orgs a socket may hear, and the socket joins their rooms only after, so an order that came in
 * between found it in no room. A member removed, or a key revoked, while their client connected
 * would hear the org's events for good; a member added (an invitation accepted, an org made)
 * would not hear them until they reconnect. Such a socket applies what came since its handshake
 * began (`mark`), in the order it came, once it has joined its rooms (`applyMissed`).
 */
export class AccessOrders {
  private recent: Array<{ n: number; at: number; order: AccessOrder }> = [];
  private applied = 0;
  private forgottenUpTo = 0;
  /** How many revocations this node has applied: one checked admission that saw none meanwhile may be applied (`relayAccessOrders`). */
  revocations = 0;

  constructor(
    private readonly io: TaskFlowServer,
    private readonly presence: Presence,
  ) {}

  /** Taken as a handshake begins, before it reads anything. */
  mark(): number {
    this.forget(Date.now());
    return this.applied;
  }

  /**
   * Applies `order` to this node's sockets in `order.room` (see `revokeSocket`). An order for one
   * socket (`forOneSocket`: an access sweep's) is not remembered: no socket to come can be in it.
   */
  async revoke(order: RevokeOrder, forOneSocket = false): Promise<void> {
    this.revocations += 1;
    if (!forOneSocket) this.remember(order);
    for (const socket of await this.io.local.in(order.room).fetchSockets()) revokeSocket(socket, order, this.presence);
  }

  /** This node's sockets in `order.room` (a user's) join the org's room, to hear its events. */
  admit(order: AdmitOrder): void {
    this.remember(order);
    this.io.local.in(order.room).socketsJoin(orgRoom(order.admitTo));
  }

  /**
   * Applies to a socket that has just joined its rooms what this node applied since `mark`.
   * False when that is no longer known (a handshake over a minute long): the caller closes it.
   */
  applyMissed(socket: TaskFlowSocket, mark: number): boolean {
    this.forget(Date.now());
    if (mark < this.forgottenUpTo) return false;
    // The orders are numbered one by one, oldest first: those after `mark` begin at its index.
    const first = this.recent.length > 0 ? Math.max(0, mark + 1 - this.recent[0]!.n) : 0;
    for (const { order } of this.recent.slice(first)) {
      if (!socket.rooms.has(order.room)) continue;
      if ('admitTo' in order) void socket.join(orgRoom(order.admitTo));
      else revokeSocket(socket, order, this.presence);
    }
    return true;
  }

  private remember(order: AccessOrder): void {
    const now = Date.now();
    this.recent.push({ n: ++this.applied, at: now, order });
    this.forget(now);
  }

  private forget(now: number): void {
    while (this.recent.length > 0 && this.recent[0]!.at < now - REMEMBER_MS) this.forgottenUpTo = this.recent.shift()!.n;
  }
}

/**
 * One socket leaves the org's room and its boards' rooms, is sent `access:revoked`, and is closed
 * if its key is dead. The boards it left hear the new presence. A socket already out of the org is
 * left alone, so an order applied twice is sent once. A socket of ended sessions is sent it and closed.
 */
function revokeSocket(socket: LocalSocket, order: RevokeOrder, presence: Presence): void {
  const { orgId, reason } = order;
  if (orgId === null) return endSession(socket, order);
  const prefix = orgRoom(orgId);
  const left = [...socket.rooms].filter((joined) => joined === prefix || joined.startsWith(`${prefix}:`));
  if (left.length === 0 && !socket.data.orgIds.includes(orgId)) return;
  for (const joined of left) {
    socket.leave(joined);
    leftRoom(socket, joined);
  }
  socket.data.orgIds = socket.data.orgIds.filter((id) => id !== orgId);
  (socket.data.revokedFrom ??= []).push(orgId);
  socket.emit('access:revoked', { orgId, reason });
  // A revoked key's sockets are closed, and a bot's when its org is gone (its key with it), after
  // what was sent before (close=true could drop it) and once its events under way are answered.
  const { principal } = socket.data;
  if (reason === 'key_revoked' || (principal.kind === 'bot' && principal.orgId === orgId))
    closeOnceAnswered(socket, () => socket.disconnect());
  for (const board of left) if (board !== prefix) presence.changed(board);
}

/** A socket signed in before its user's sessions were ended is told so and closed once its events under way are answered (its boards hear the new presence as it leaves). */
function endSession(socket: LocalSocket, { reason, sessionVersion = Infinity }: RevokeOrder): void {
  const { principal } = socket.data;
  if (principal.kind !== 'user' || principal.sessionVersion >= sessionVersion) return;
  endCredential(socket, reason);
}

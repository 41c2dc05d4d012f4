import type { FastifyBaseLogger } from 'fastify';
import type { AccessRevokedReason } from '../shared/events.js';
import type { BoardEventJson, OrgEventJson, OrgEventType } from '../shared/wire.js';
import type { LoginThrottle } from './auth/login-throttle.js';
import type { BoardQueue } from './board/board-queue.js';
import type { BoardEventOrder } from './board/board-event-order.js';
import type { BoardLocator } from './board/board-target.js';
import type { RunningChanges } from './board/running-changes.js';
import type { SenderOrder } from './board/sender-order.js';
import type { Tokens } from './auth/tokens.js';
import type { ResetMailLimit } from './auth/reset-mail-limit.js';
import type { MailOutbox } from './mail/mailer.js';
import type { InviteMailLimit } from './orgs/invite-mail-limit.js';
import type { Config } from './config.js';
import type { Orm } from './db/orm.js';
import type { FailureLog } from './failure-log.js';
import type { InFlight } from './in-flight.js';
import type { Lanes, Turns } from './lanes.js';
import type { PasswordTurns } from './auth/password-turns.js';
import type { Metrics } from './metrics/metrics.js';
import type { WebhookDispatch } from './webhooks/webhook-dispatch.js';

/** Sends committed facts to live sockets; the realtime layer provides it, services call it. */
export interface Broadcaster {
  /** To every socket in the board's room on every node, except the one that caused it. */
  boardEvent(orgId: string, event: BoardEventJson, exceptSocketId?: string): void;
  /** An `org:event` to every member socket of the org, on every node. */
  orgEvent<T extends OrgEventType>(orgId: string, type: T, data: Extract<OrgEventJson, { type: T }>['data']): void;
  /** Puts a user's live sockets into the org's room, after they became a member. */
  joinOrg(userId: string, orgId: string): void;
  /**
   * Revocation, after commit: the sockets of `who` (a user, an API key, or the whole org) leave the
   * org's rooms on every node and are sent `access:revoked`; a revoked key's sockets are closed.
   */
  revoke(who: RevokedParty, orgId: string, reason: AccessRevokedReason): void;
  /**
   * Ended sessions, after commit: the sockets of the user (or the one socket) signed in before
   * their session version became `sessionVersion` (one socket the database found ended: `Infinity`)
   * are sent `access:revoked` (`signed_out`, no org) on every node, and closed.
   */
  endSessions(who: { userId: string } | { socketId: string }, sessionVersion: number): void;
  /**
   * A change of access (a revocation, ended sessions) failed as the database went away: it may
   * have committed with its answer lost, and then no one announced it. Every node re-checks its
   * sockets' access (the access sweep) once the database answers.
   */
  accessUnsure(): void;
}

export type RevokedParty = { userId: string } | { keyId: string } | { org: true } | { socketId: string };

/** What the domain services need, built once per server: no module-level singletons. */
export interface AppContext {
  config: Config;
  orm: Orm;
  log: FastifyBaseLogger;
  broadcaster: Broadcaster;
  tokens: Tokens;
  /** Invitation and password-reset mail, sent in the background. */
  mail: MailOutbox;
  loginThrottle: LoginThrottle;
  inviteMailLimit: InviteMailLimit;
  resetMailLimit: ResetMailLimit;
  locator: BoardLocator;
  boardQueue: BoardQueue;
  /** An account's socket events and HTTP requests, a few at a time on this node (`createAccountLanes`). */
  accountLanes: Lanes;
  /** Password hashes and checks, in turns per account and per client address (`PasswordTurns`). */
  passwordTurns: PasswordTurns;
  /** The general path's changes of a board, one at a time on this node (`Lanes`). */
  boardTurns: Lanes;
  /**
   * Board reads (joins, replays, snapshots), at most half the pool's connections at once on this
   * node: a crowd that joins together (a stopped node's clients moving here, a team opening a
   * big board) waits its turn, and leaves the other half of the connections to changes, where
   * every change of every tenant once queued behind the crowd. (Handshakes are one short read
   * each: in the lane, a rolling restart's crowd was back no sooner and no later.)
   */
  arrivals: Turns;
  /** How a committed board event is broadcast: in the board's `seq` order on this node. */
  eventOrder: BoardEventOrder;
  /** The changes with a `clientMutationId` running on this node, which a retry waits for. */
  runningChanges: RunningChanges;
  /** Each socket's changes, kept in the order it sent them (`SenderOrder`). */
  senderOrder: SenderOrder;
  inFlight: InFlight;
  /** How failures are answered and logged: bugs every time, the database's unavailability now and then. */
  failures: FailureLog;
  /** What the node counts for Prometheus (`METRICS_PORT`); counts nothing where it serves none. */
  metrics: Metrics;
  /** Sends the orgs' board events to their webhooks (`webhooks/`), from the node's start to its stop. */
  webhooks: WebhookDispatch;
}

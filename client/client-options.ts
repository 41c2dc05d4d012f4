import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import type { ServerToClientEvents } from '../shared/events.js';
import type { BoardEvent, Viewer } from '../shared/wire.js';
import type { BoardState } from './board-state.js';

/** A user's token (or a function that returns a fresh one, asked at every connect), or a bot's API key. */
export type Credentials = { token: string | (() => string | Promise<string>) } | { apiKey: string };

export interface TaskFlowClientOptions {
  /**
   * The server, or several nodes of it: the client connects to the first, and after a disconnect
   * tries another one, picked at random, so that a stopped node's clients spread over the rest.
   */
  url: string | string[];
  credentials: Credentials;
  /**
   * How long to wait for the server's answer, to a mutation or to a connection's handshake (30 s
   * by default; the server answers within its `ANSWER_DEADLINE`, 20 s by default). A connection
   * that leaves an answer out longer counts as broken: the client drops it, reconnects (to another
   * node) and sends what is unacknowledged again, with the same `clientMutationId`.
   */
  ackTimeoutMs?: number;
  /** How long an event may wait for an earlier one before the board is resynced. */
  gapGraceMs?: number;
  /** The longest pause between reconnect attempts. */
  maxBackoffMs?: number;
  /**
   * How long the first attempt after a live connection dropped may wait, picked at random up to
   * this (2 s by default): a stopped node's clients then come back spread over that time, not
   * all in the same half second, which stalled the node they landed on for everyone there.
   */
  reconnectSpreadMs?: number;
  socketOptions?: Partial<ManagerOptions & SocketOptions>;
}

/** `live`: connected and in sync; `reconnecting`: the connection is gone; `resyncing`: catching up. */
export type ConnectionState = 'connecting' | 'live' | 'reconnecting' | 'resyncing' | 'closed';

export type TaskFlowClientEvents = {
  state: (state: ConnectionState) => void;
  /**
   * A board changed: once for each event applied to it (this client's own or another's), in `seq`
   * order, each once, also for those caught up after a reconnect or a gap; `board` is the board
   * as it stands then, which may hold later events already. With no event when the board was read
   * afresh: as it was joined, or as a resync found it when the server's log no longer held every
   * event missed (a long absence): look at the whole board then.
   */
  board: (board: BoardState, event?: BoardEvent) => void;
  presence: (projectId: string, viewers: Viewer[]) => void;
  /**
   * How many mutations wait for the server's answer (`unacknowledged`), each time that changes:
   * those made while the connection is away wait for it, and are lost if the page or process goes
   * first (a page can warn before it is left while any wait).
   */
  unacknowledged: (count: number) => void;
  org: (payload: Parameters<ServerToClientEvents['org:event']>[0]) => void;
  /**
   * The server revoked access: to an org (`removed`, `key_revoked`, `org_deleted`; the org's boards
   * are dropped), or the credential expired (`token_expired`, no org; with a token provider the
   * client reconnects with a fresh token by itself, so this is no loss of access), or the user's
   * sessions were ended (`signed_out`, no org: a password changed or reset, or the other sessions
   * signed out; the client reconnects with the provider's token, which the server refuses if it
   * was one of the ended sessions').
   */
  revoked: (payload: Parameters<ServerToClientEvents['access:revoked']>[0]) => void;
  /**
   * Something went wrong out of any caller's sight: a resync that failed (the client reconnects),
   * a board dropped because the server no longer shows it to this client (a `TaskFlowError`
   * FORBIDDEN or NOT_FOUND, e.g. after a removal from the org while disconnected; its joins still
   * count, each to be left with `leaveBoard`), or a token
   * from the provider that was refused (UNAUTHORIZED; after five in a row the client closes).
   */
  error: (error: Error) => void;
};

import type { Summary } from '../lib/stats.js';

/** Which server the sockets talk to: TaskFlow (`board:join`, `task:update`) or the bare relay (`join`, `relay`). */
export type Protocol = 'taskflow' | 'relay';

export interface SocketSpec {
  /** A TaskFlow access token; none for the relay. */
  token?: string;
  /** The board (TaskFlow project id, or relay room) to join once connected. */
  board?: string;
}

/** Open sockets into `group`, `concurrency` at a time: connect, authenticate, join. */
export interface ConnectJob {
  kind: 'connect';
  group: string;
  url: string;
  protocol: Protocol;
  sockets: SocketSpec[];
  concurrency: number;
  timeoutMs: number;
}

export interface CloseJob {
  kind: 'close';
  group: string;
}

/** Start keeping the bench messages marked `tag` that the group's sockets receive. */
export interface WatchJob {
  kind: 'watch';
  group: string;
  tag: string;
}

/** Wait (at most `waitMs`) until each socket has `expected[board]` messages of `tag`, then hand them over. */
export interface CollectJob {
  kind: 'collect';
  group: string;
  tag: string;
  expected: Record<string, number>;
  waitMs: number;
}

export interface SendTarget {
  board: string;
  /** The task a TaskFlow writer updates. */
  taskId?: string;
}

/**
 * Open loop: message k is due at start + k / rate, whatever happened to the ones before, sent
 * round robin over the group's sockets, its latency counted from that due time.
 */
export interface SendJob {
  kind: 'send';
  group: string;
  tag: string;
  protocol: Protocol;
  /** One per socket of the group, in the group's order. */
  targets: SendTarget[];
  rate: number;
  durationMs: number;
  ackTimeoutMs: number;
  /** For the relay: a board event to send as the payload (its task title becomes the marker). */
  template?: unknown;
  /** Also answer each message's ack latency, by `<board>/<message id>`. */
  perMessage?: boolean;
  /** Due at exponentially distributed gaps (mean 1 / rate), as `pgbench -R` schedules, instead of evenly. */
  poisson?: boolean;
}

/** Open-loop `board:join`s over the group's sockets. */
export interface JoinJob {
  kind: 'join';
  group: string;
  board: string;
  /** Join as a client that holds the board up to this `seq` (a rejoin): the events since. */
  sinceSeq?: number;
  rate: number;
  durationMs: number;
  ackTimeoutMs: number;
}

/** `count` joins in a row from the group's first socket, each waiting for the one before. */
export interface SerialJoinJob {
  kind: 'serial-join';
  group: string;
  board: string;
  sinceSeq?: number;
  count: number;
  timeoutMs: number;
}

export type Job = ConnectJob | CloseJob | WatchJob | CollectJob | SendJob | JoinJob | SerialJoinJob;

/** How the generator itself fared: if it was the bottleneck, the run says so. */
export interface GeneratorHealth {
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** How late messages left against their due time (open-loop jobs only). */
  sendLag?: Summary;
  /** Loop delay p99 over 10 ms, or sends more than 10 ms late at p99. */
  bound: boolean;
}

export interface ConnectResult {
  opened: number;
  failed: number;
  errors: string[];
  /** Monotonic ms (see clock.ts), comparable across processes. */
  startedAt: number;
  endedAt: number;
  /** connect + authenticate + join, per socket. */
  latency: Summary;
  health: GeneratorHealth;
}

export interface CollectResult {
  sockets: Array<{ board: string; received: Array<[string, number]>; duplicates: number }>;
}

export interface SendResult {
  sent: number;
  ok: number;
  failed: number;
  timedOut: number;
  errors: Record<string, number>;
  okPerBoard: Record<string, number>;
  /** Ack latency from the due time, ms. */
  latencies: number[];
  /** With `perMessage`: [`<board>/<message id>`, ack latency]. */
  acks?: Array<[string, number]>;
  /** Oks per second from the first due time to the last answer. */
  achievedRate: number;
  /** A board event as the server sent it back in an ack (TaskFlow): the relay's template. */
  sampleEvent?: unknown;
  health: GeneratorHealth;
}

export interface JoinResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  latencies: number[];
  /** Size of one ack as JSON. */
  bytes: number;
  /** In one ack: the board's tasks (a snapshot), or the events since `sinceSeq` (a rejoin); and its `seq`. */
  tasks: number;
  events: number;
  seq: number;
  health: GeneratorHealth;
}

export type WorkerRequest = { id: number; job: Job };
export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };

/** The marker a bench message carries in its task title: tag, message id, due time. */
export function marker(tag: string, id: string, dueMs: number): string {
  return `${tag}|${id}|${dueMs.toFixed(3)}`;
}

export function parseMarker(title: unknown): { tag: string; id: string; dueMs: number } | null {
  if (typeof title !== 'string') return null;
  const [tag, id, due] = title.split('|');
  if (!tag || !id || !due) return null;
  return { tag, id, dueMs: Number(due) };
}

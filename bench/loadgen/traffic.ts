import { randomUUID } from 'node:crypto';
import { nowMs, sleep, until } from '../lib/clock.js';
import { summarize } from '../lib/stats.js';
import { watchHealth } from './health.js';
import {
  type CollectJob,
  type CollectResult,
  type JoinJob,
  type JoinResult,
  marker,
  type SendJob,
  type SendResult,
  type SerialJoinJob,
} from './protocol.js';
import { type GenSocket, group } from './sockets.js';
import { readAnswer } from './wire-socket.js';

/**
 * Calls `fire(k, due)` for k = 0.. at `rate` a second for `durationMs`, however late the previous
 * calls were answered (open loop); answers how late each call left. The calls are due every
 * 1000 / rate ms, or, with `poisson`, at exponentially distributed gaps of that mean, as
 * `pgbench -R` schedules its transactions.
 */
async function openLoop(rate: number, durationMs: number, poisson: boolean, fire: (k: number, dueMs: number) => void): Promise<number[]> {
  const interval = 1000 / rate;
  const total = Math.max(1, Math.floor((durationMs / 1000) * rate));
  const gap = () => (poisson ? -Math.log(1 - Math.random()) * interval : interval);
  const lags: number[] = [];
  let due = nowMs() + 20;
  let k = 0;
  while (k < total) {
    const now = nowMs();
    while (k < total && due <= now) {
      fire(k, due);
      lags.push(nowMs() - due);
      k += 1;
      due += gap();
    }
    if (k < total) await sleep(Math.max(0, due - nowMs()));
  }
  return lags;
}

function codeOf(answer: any): string {
  return answer?.error?.code ?? 'NO_ANSWER';
}

/** How an ok answer's JSON text begins (the server writes `ok` first); the rest is read only when needed. */
const OK = '[{"ok":true';

export async function send(job: SendJob): Promise<SendResult> {
  const sockets = group(job.group);
  if (job.targets.length !== sockets.length) throw new Error('one target per socket');
  const health = watchHealth();
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  const okPerBoard: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let outstanding = 0;
  let sampleEvent: unknown;
  let lastAnswer = 0;
  const acks: Array<[string, number]> = [];
  const first = nowMs();
  const lags = await openLoop(job.rate, job.durationMs, job.poisson ?? false, (k, due) => {
    const index = k % sockets.length;
    const { socket } = sockets[index]!;
    const target = job.targets[index]!;
    const id = `${index}.${k}`;
    const title = marker(job.tag, id, due);
    const [event, payload]: [string, unknown] =
      job.protocol === 'taskflow'
        ? // With a clientMutationId, as the SDK sends every change (its retry is answered, not made twice).
          ['task:update', { taskId: target.taskId, patch: { title }, clientMutationId: randomUUID() }]
        : ['relay', { room: target.board, payload: relayPayload(job.template, title, k) }];
    outstanding += 1;
    socket.emit(event, payload, (text) => {
      outstanding -= 1;
      lastAnswer = nowMs();
      if (text.startsWith(OK)) {
        ok += 1;
        latencies.push(lastAnswer - due);
        if (job.perMessage) acks.push([`${target.board}/${id}`, Math.round((lastAnswer - due) * 100) / 100]);
        okPerBoard[target.board] = (okPerBoard[target.board] ?? 0) + 1;
        sampleEvent ??= readAnswer(text).data?.event;
      } else {
        failed += 1;
        const code = codeOf(readAnswer(text));
        errors[code] = (errors[code] ?? 0) + 1;
      }
    });
  });
  await until(() => outstanding === 0, job.ackTimeoutMs, 5);
  const result: SendResult = {
    sent: lags.length,
    ok,
    failed,
    timedOut: outstanding,
    errors,
    okPerBoard,
    latencies,
    ...(job.perMessage ? { acks } : {}),
    achievedRate: lastAnswer > first ? Math.round((ok / ((lastAnswer - first) / 1000)) * 10) / 10 : 0,
    health: health.stop(summarize(lags)),
  };
  if (job.protocol === 'taskflow' && sampleEvent) result.sampleEvent = sampleEvent;
  return result;
}

/** The relay's payload: the template board event, its task retitled with the marker. */
function relayPayload(template: any, title: string, seq: number): unknown {
  return { ...template, seq, data: { ...template?.data, task: { ...template?.data?.task, title } } };
}

export function watch(name: string, tag: string): Record<string, never> {
  for (const entry of group(name)) entry.watch = { tag, received: new Map(), duplicates: 0 };
  return {};
}

export async function collect(job: CollectJob): Promise<CollectResult> {
  const sockets = group(job.group);
  const done = (entry: GenSocket) => !entry.board || (entry.watch?.received.size ?? 0) >= (job.expected[entry.board] ?? 0);
  await until(() => sockets.every(done), job.waitMs, 10);
  const result: CollectResult = { sockets: [] };
  for (const entry of sockets) {
    const watched = entry.watch?.tag === job.tag ? entry.watch : null;
    result.sockets.push({
      board: entry.board ?? '',
      received: watched ? [...watched.received].map(([id, ms]) => [id, Math.round(ms * 100) / 100]) : [],
      duplicates: watched?.duplicates ?? 0,
    });
    entry.watch = null;
  }
  return result;
}

/** `count` joins one after another from one socket: the service time without queueing. */
export async function serialJoins(job: SerialJoinJob): Promise<number[]> {
  const { socket } = group(job.group)[0]!;
  const latencies: number[] = [];
  for (let i = 0; i < job.count; i += 1) {
    const started = nowMs();
    const answer = await socket.request('board:join', { projectId: job.board, sinceSeq: job.sinceSeq }, job.timeoutMs);
    if (!answer?.ok) throw new Error(`board:join refused: ${codeOf(answer)}`);
    latencies.push(nowMs() - started);
  }
  return latencies;
}

export async function joins(job: JoinJob): Promise<JoinResult> {
  const sockets = group(job.group);
  const health = watchHealth();
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let outstanding = 0;
  let bytes = 0;
  let tasks = 0;
  let events = 0;
  let seq = 0;
  const lags = await openLoop(job.rate, job.durationMs, false, (k, due) => {
    const { socket } = sockets[k % sockets.length]!;
    outstanding += 1;
    socket.emit('board:join', { projectId: job.board, sinceSeq: job.sinceSeq }, (text) => {
      outstanding -= 1;
      const answer = readAnswer(text);
      if (answer?.ok) {
        ok += 1;
        latencies.push(nowMs() - due);
        if (!bytes) {
          bytes = JSON.stringify(answer).length;
          tasks = answer.data?.tasks?.length ?? 0;
          events = answer.data?.events?.length ?? 0;
          seq = answer.data?.seq ?? 0;
        }
      } else {
        failed += 1;
        errors[codeOf(answer)] = (errors[codeOf(answer)] ?? 0) + 1;
      }
    });
  });
  await until(() => outstanding === 0, job.ackTimeoutMs, 5);
  return { ok, failed: failed + outstanding, errors, latencies, bytes, tasks, events, seq, health: health.stop(summarize(lags)) };
}

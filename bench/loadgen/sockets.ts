import { nowMs } from '../lib/clock.js';
import { summarize } from '../lib/stats.js';
import { watchHealth } from './health.js';
import { type ConnectJob, type ConnectResult, parseMarker, type Protocol, type SocketSpec } from './protocol.js';
import { WireSocket } from './wire-socket.js';

/** One generator socket, and what it keeps of the bench messages it receives. */
export interface GenSocket {
  socket: WireSocket;
  board?: string;
  watch: { tag: string; received: Map<string, number>; duplicates: number } | null;
}

export const groups = new Map<string, GenSocket[]>();

export function group(name: string): GenSocket[] {
  const found = groups.get(name);
  if (!found) throw new Error(`no socket group ${name}`);
  return found;
}

/** A bench message's task title in a board event's JSON text; the marker it holds, the only title there. */
const TITLE = /"title":"([^"\\]*)"/;

function onBoardEvent(entry: GenSocket, text: string): void {
  const watch = entry.watch;
  if (!watch) return;
  const mark = parseMarker(TITLE.exec(text)?.[1]);
  if (!mark || mark.tag !== watch.tag) return;
  if (watch.received.has(mark.id)) watch.duplicates += 1;
  else watch.received.set(mark.id, nowMs() - mark.dueMs);
}

/** Connects, authenticates and joins one socket; rejects on any refusal or after `timeoutMs`. */
async function openOne(url: string, protocol: Protocol, spec: SocketSpec, timeoutMs: number): Promise<GenSocket> {
  const socket = await WireSocket.connect(url, spec.token ? { token: spec.token } : {}, timeoutMs);
  const entry: GenSocket = { socket, board: spec.board, watch: null };
  socket.on('board:event', (text) => onBoardEvent(entry, text));
  try {
    if (spec.board) {
      const [event, payload]: [string, unknown] =
        protocol === 'taskflow' ? ['board:join', { projectId: spec.board }] : ['join', { room: spec.board }];
      const answer = await socket.request(event, payload, timeoutMs);
      if (!answer?.ok) throw new Error(`${event} refused: ${answer?.error?.code ?? 'unknown'}`);
    }
    return entry;
  } catch (error) {
    socket.close();
    throw error;
  }
}

export async function connectGroup(job: ConnectJob): Promise<ConnectResult> {
  const health = watchHealth();
  const list = groups.get(job.group) ?? [];
  groups.set(job.group, list);
  const latencies: number[] = [];
  const errors: string[] = [];
  let failed = 0;
  let next = 0;
  const startedAt = nowMs();
  const worker = async () => {
    while (next < job.sockets.length) {
      const index = next++;
      const started = nowMs();
      try {
        list.push(await openOne(job.url, job.protocol, job.sockets[index]!, job.timeoutMs));
        latencies.push(nowMs() - started);
      } catch (error) {
        failed += 1;
        if (errors.length < 5) errors.push((error as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.sockets.length) }, worker));
  const endedAt = nowMs();
  return { opened: latencies.length, failed, errors, startedAt, endedAt, latency: summarize(latencies), health: health.stop() };
}

export function closeGroup(name: string): { closed: number } {
  const list = groups.get(name) ?? [];
  for (const entry of list) entry.socket.close();
  groups.delete(name);
  return { closed: list.length };
}

import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import {
  type BoardState,
  type ConnectionState,
  TaskFlowClient,
  type TaskFlowClientEvents,
  type TaskFlowClientOptions,
  TaskFlowError,
} from '../../client/index.js';
import type { BoardSnapshot, TaskJson } from '../../shared/wire.js';
import { api, type TestOrg } from './api.js';
import type { TestDatabase } from './database.js';
import { eventually } from './sockets.js';

const clients: TaskFlowClient[] = [];

/** A TaskFlowClient (closed by `closeAllClients`), with every connection state it went through. */
export function openClient(
  url: string | string[],
  credentials: TaskFlowClientOptions['credentials'],
  options: Partial<TaskFlowClientOptions> = {},
): { client: TaskFlowClient; states: ConnectionState[] } {
  const client = new TaskFlowClient({ url, credentials, ...options });
  const states: ConnectionState[] = [client.state];
  client.on('state', (state) => states.push(state));
  clients.push(client);
  return { client, states };
}

export function closeAllClients(): void {
  for (const client of clients.splice(0)) client.close();
}

/** Resolves once `client` is in `state`, or rejects after `ms`. */
export function stateOf(client: TaskFlowClient, state: ConnectionState, ms = 10_000): Promise<void> {
  if (client.state === state) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const off = client.on('state', (now) => {
      if (now !== state) return;
      clearTimeout(timer);
      off();
      resolve();
    });
    const timer = setTimeout(() => {
      off();
      reject(new Error(`client not ${state} within ${ms} ms (it is ${client.state})`));
    }, ms);
  });
}

/** Resolves with the arguments of the client's next `event` that `match`es, or rejects after `ms`. */
export function clientEvent<E extends keyof TaskFlowClientEvents>(
  client: TaskFlowClient,
  event: E,
  match: (...args: Parameters<TaskFlowClientEvents[E]>) => boolean = () => true,
  ms = 10_000,
): Promise<Parameters<TaskFlowClientEvents[E]>> {
  return new Promise((resolve, reject) => {
    const off = client.on(event, ((...args: Parameters<TaskFlowClientEvents[E]>) => {
      if (!match(...args)) return;
      clearTimeout(timer);
      off();
      resolve(args);
    }) as TaskFlowClientEvents[E]);
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${String(event)} from the client within ${ms} ms`));
    }, ms);
  });
}

/** A small seeded generator, so a failing run can be replayed with its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Refusals a mutation may meet when teammates change the same tasks at once. */
export const CONCURRENCY_REFUSALS = new Set(['NOT_FOUND', 'VALIDATION_FAILED', 'CONFLICT']);

export type OpKind = 'create' | 'update' | 'move-within' | 'move-across' | 'delete';

/** What became of one mutation of a workload. */
export interface OpRecord {
  kind: OpKind;
  /** The title a create used (unique over the run). */
  title?: string;
  settled: boolean;
  outcome?: 'ok' | string;
  /** The event of an acknowledged change (null for an update that changed nothing). */
  event?: { seq: number; clientMutationId: string | null } | null;
}

export interface WorkloadOptions {
  ops: number;
  random: () => number;
  /** Prefix of the titles this client creates. */
  name: string;
  /** The longest pause before firing the next mutation (ms). */
  maxPauseMs?: number;
  /** Mutations of this client in flight at once, at most. */
  maxInFlight?: number;
  /** Where the records go as the mutations are fired, for a test that watches the run. */
  records?: OpRecord[];
}

/**
 * Fires `ops` random mutations from `client` on `board`: creates (sometimes after a named task),
 * updates (sometimes with `baseVersion`), moves within a column between two named neighbours and
 * across columns, and deletes, each chosen from what the client's own board shows at that moment.
 * Answers one record per mutation once every one has settled.
 */
export async function runWorkload(client: TaskFlowClient, board: BoardState, options: WorkloadOptions): Promise<OpRecord[]> {
  const { ops, random, name, maxPauseMs = 15, maxInFlight = 4, records = [] } = options;
  const pick = <T>(list: T[]): T | undefined => (list.length ? list[Math.floor(random() * list.length)] : undefined);
  const inFlight = new Set<Promise<void>>();
  const columns = () => board.orderedColumns();
  const tasks = () => [...board.tasks.values()];

  for (let i = 0; i < ops; i++) {
    await sleep(Math.floor(random() * maxPauseMs));
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const roll = random();
    const task = pick(tasks());
    let record: OpRecord;
    let sent: Promise<{ event?: { seq: number; clientMutationId: string | null } | null }>;
    if (roll < 0.3 || !task) {
      const column = pick(columns())!;
      const after = random() < 0.5 ? pick(board.tasksIn(column.id)) : undefined;
      record = { kind: 'create', title: `${name} #${i}`, settled: false };
      sent = client.createTask({ projectId: board.project.id, columnId: column.id, title: record.title!, afterId: after?.id });
    } else if (roll < 0.5) {
      record = { kind: 'update', settled: false };
      const patch = random() < 0.5 ? { priority: Math.floor(random() * 5) } : { title: `${task.title.split(' ~')[0]} ~${i}` };
      sent = client.updateTask({ taskId: task.id, patch, baseVersion: random() < 0.3 ? task.version : undefined });
    } else if (roll < 0.7) {
      record = { kind: 'move-within', settled: false };
      sent = client.moveTask({ taskId: task.id, columnId: task.columnId, ...between(board.tasksIn(task.columnId), task, random) });
    } else if (roll < 0.88) {
      record = { kind: 'move-across', settled: false };
      const others = columns().filter((c) => c.id !== task.columnId);
      const column = pick(others)!;
      sent = client.moveTask({ taskId: task.id, columnId: column.id, ...between(board.tasksIn(column.id), task, random) });
    } else {
      record = { kind: 'delete', settled: false };
      sent = client.deleteTask({ taskId: task.id, baseVersion: random() < 0.3 ? task.version : undefined });
    }
    records.push(record);
    const done: Promise<void> = sent.then(
      (data) => {
        Object.assign(record, { settled: true, outcome: 'ok', event: data.event ? pickEvent(data.event) : null });
      },
      (error: unknown) => {
        Object.assign(record, { settled: true, outcome: error instanceof TaskFlowError ? error.code : String(error) });
      },
    );
    const tracked = done.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
  return records;
}

const pickEvent = (event: { seq: number; clientMutationId: string | null }) => ({
  seq: event.seq,
  clientMutationId: event.clientMutationId,
});

/** Neighbours for `task` in `list` (which may hold it): between two of the others, after the last, before the first, or none. */
function between(list: TaskJson[], task: TaskJson, random: () => number): { afterId?: string; beforeId?: string } {
  const others = list.filter((t) => t.id !== task.id);
  if (others.length === 0) return {};
  const at = Math.floor(random() * (others.length + 1)); // the gap to land in: 0 = before the first
  const after = others[at - 1];
  const before = others[at];
  const roll = random();
  if (roll < 0.2) return after ? { afterId: after.id } : {};
  if (roll < 0.4) return before ? { beforeId: before.id } : {};
  return { ...(after ? { afterId: after.id } : {}), ...(before ? { beforeId: before.id } : {}) };
}

/** A board in one canonical order: columns by position, tasks by column order, then position. */
export function canonical(snapshot: BoardSnapshot): BoardSnapshot {
  const columns = [...snapshot.columns].sort(byPosition);
  const rank = new Map(columns.map((column, i) => [column.id, i]));
  const tasks = [...snapshot.tasks].sort((a, b) => rank.get(a.columnId)! - rank.get(b.columnId)! || byPosition(a, b));
  return { ...snapshot, columns, tasks };
}

const byPosition = (a: { position: string; id: string }, b: { position: string; id: string }) =>
  a.position < b.position ? -1 : a.position > b.position ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** Positions held by more than one task of a column, in PostgreSQL (empty when all are unique). */
export async function sharedPositions(db: TestDatabase, projectId: string): Promise<unknown[]> {
  return db.query(
    `select column_id, position, array_agg(title order by title) as titles from tasks
      where project_id = $1 group by column_id, position having count(*) > 1`,
    [projectId],
  );
}

/**
 * Waits (bounded) until every client holds the board at the seq PostgreSQL has and has nothing
 * unacknowledged, then checks that each client's board equals the one the server answers, task
 * for task, and that the ids match the rows of the tasks table exactly.
 */
export async function expectConverged(
  db: TestDatabase,
  base: string,
  org: TestOrg,
  projectId: string,
  clients: Array<{ name: string; client: TaskFlowClient }>,
  ms = 15_000,
): Promise<BoardSnapshot> {
  await eventually(async () => {
    const [{ seq }] = await db.query<{ seq: number }>('select seq from projects where id = $1', [projectId]);
    const behind = clients
      .map(({ name, client }) => ({ name, seq: client.boards.get(projectId)?.seq, unacknowledged: client.unacknowledged }))
      .filter((c) => c.seq !== seq || c.unacknowledged !== 0);
    expect(behind, `clients behind seq ${seq}`).toEqual([]);
  }, ms);

  const answer = await api<BoardSnapshot>(base, 'GET', `/orgs/${org.slug}/projects/${projectId}`, undefined, org.owner.token);
  expect(answer.status).toBe(200);
  const server = canonical(answer.body);
  expect(server.project.seq).toBe(server.seq);
  const rows = await db.query<{ id: string }>('select id from tasks where project_id = $1', [projectId]);
  expect(server.tasks.map((t) => t.id).sort()).toEqual(rows.map((r) => r.id).sort());

  for (const { name, client } of clients) {
    const local = canonical(client.boards.get(projectId)!.toSnapshot());
    expect(new Set(local.tasks.map((t) => t.id)).size, `${name}: a task twice`).toBe(local.tasks.length);
    expect(local, `${name}'s board differs from the server's`).toEqual(server);
  }
  return server;
}

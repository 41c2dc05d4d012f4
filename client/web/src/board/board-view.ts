import type { BoardState, ColumnJson, TaskJson } from '../../../index.js';
import { byPosition } from '../../../../shared/positions.js';

export interface ColumnView {
  column: ColumnJson;
  tasks: TaskJson[];
}

/** A move shown before the server has answered it. */
export interface PendingMove {
  key: string;
  taskId: string;
  columnId: string;
  afterId?: string;
  beforeId?: string;
  /** Once acknowledged: the version the task has after the move; the board shows it from then on. */
  settledVersion?: number;
}

export interface Neighbours {
  afterId?: string;
  beforeId?: string;
}

/** The last view of each board: columns whose cards did not change keep their arrays (and so skip re-rendering). */
const lastViews = new WeakMap<BoardState, ColumnView[]>();

/** The board in order, with the moves still in flight shown where they will land. */
export function boardView(board: BoardState, pending: readonly PendingMove[]): ColumnView[] {
  // One pass over the tasks, then one sort per column (not a filter and a sort of them all per column).
  const byColumn = new Map<string, TaskJson[]>();
  for (const task of board.tasks.values()) {
    const list = byColumn.get(task.columnId);
    if (list) list.push(task);
    else byColumn.set(task.columnId, [task]);
  }
  const view = board.orderedColumns().map((column) => ({ column, tasks: (byColumn.get(column.id) ?? []).sort(byPosition) }));
  for (const move of pending) {
    const task = board.tasks.get(move.taskId);
    if (!task || (move.settledVersion !== undefined && task.version >= move.settledVersion)) continue;
    place(view, { ...task, columnId: move.columnId }, move);
  }
  keepUnchanged(view, lastViews.get(board) ?? null);
  lastViews.set(board, view);
  return view;
}

/** Gives each column of `view` whose cards are those it had in `last` that array again, so that it skips re-rendering. */
export function keepUnchanged(view: ColumnView[], last: readonly ColumnView[] | null): ColumnView[] {
  const before = new Map(last?.map((entry) => [entry.column.id, entry.tasks]));
  for (const entry of view) {
    const was = before.get(entry.column.id);
    if (was && sameItems(was, entry.tasks)) entry.tasks = was;
  }
  return view;
}

/** Whether two lists hold the same items (by identity) in the same order. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
  return a.length === b.length && a.every((item, index) => item === b[index]);
}

/** Takes the task out of whichever column holds it and puts it between its neighbours in its column. */
function place(view: ColumnView[], task: TaskJson, { afterId, beforeId }: Neighbours): void {
  const target = view.find((entry) => entry.column.id === task.columnId);
  if (!target) return; // the column is gone: the server will refuse the move anyway
  for (const entry of view) entry.tasks = entry.tasks.filter((t) => t.id !== task.id);
  const after = afterId ? target.tasks.findIndex((t) => t.id === afterId) : -1;
  const before = beforeId ? target.tasks.findIndex((t) => t.id === beforeId) : -1;
  const index = after >= 0 ? after + 1 : before >= 0 ? before : target.tasks.length;
  target.tasks.splice(index, 0, task);
}

/** The tasks either side of `taskId` in `ids`: what `task:move` names. */
export function neighboursIn(ids: readonly string[], taskId: string): Neighbours {
  const index = ids.indexOf(taskId);
  const afterId = index > 0 ? ids[index - 1] : undefined;
  const beforeId = index >= 0 && index < ids.length - 1 ? ids[index + 1] : undefined;
  return { ...(afterId ? { afterId } : {}), ...(beforeId ? { beforeId } : {}) };
}

/** Where each task sits: column id → task ids in order. */
export type Placement = Record<string, string[]>;

export function placementOf(view: readonly ColumnView[]): Placement {
  return Object.fromEntries(view.map(({ column, tasks }) => [column.id, tasks.map((task) => task.id)]));
}

/** The column a column id or a task id is in. */
export function containerOf(placement: Placement, id: string): string | undefined {
  if (id in placement) return id;
  return Object.keys(placement).find((columnId) => placement[columnId]!.includes(id));
}

/** Today as `YYYY-MM-DD` in the viewer's time zone, to compare with due dates. */
export function today(): string {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, '0')}-${String(now.getDate()).padStart(2, '0')}`;
}

export const PRIORITIES = ['None', 'Low', 'Medium', 'High', 'Urgent'] as const;

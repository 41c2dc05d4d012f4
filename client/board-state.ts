import type { BoardJoinData } from '../shared/events.js';
import { byPosition } from '../shared/positions.js';
import type { BoardEventJson, BoardSnapshot, ColumnEventData, ColumnJson, ProjectJson, TaskEventData, TaskJson } from '../shared/wire.js';

/**
 * A board as a client holds it: the snapshot it joined with, and the events after it applied in
 * `seq` order. Events that arrive early wait for the ones before them; `gap` says one is missing.
 */
export class BoardState {
  /** The board's project; its `seq` follows the board's. */
  project: ProjectJson;
  seq: number;
  readonly columns = new Map<string, ColumnJson>();
  readonly tasks = new Map<string, TaskJson>();
  private readonly early = new Map<number, BoardEventJson>();

  constructor(snapshot: BoardSnapshot) {
    this.project = { ...snapshot.project, seq: snapshot.seq };
    this.seq = snapshot.seq;
    this.reset(snapshot);
  }

  /** Whether events are waiting for an earlier one that has not arrived. */
  get gap(): boolean {
    return this.early.size > 0;
  }

  /** Columns in board order. */
  orderedColumns(): ColumnJson[] {
    return [...this.columns.values()].sort(byPosition);
  }

  /** The tasks of a column, in order. */
  tasksIn(columnId: string): TaskJson[] {
    return [...this.tasks.values()].filter((task) => task.columnId === columnId).sort(byPosition);
  }

  /** The board as plain data, in the shape of a `board:join` snapshot. */
  toSnapshot(): BoardSnapshot {
    const tasks = this.orderedColumns().flatMap((column) => this.tasksIn(column.id));
    return { project: { ...this.project, seq: this.seq }, columns: this.orderedColumns(), tasks, seq: this.seq };
  }

  /**
   * Takes a `board:join` answer: a fresh snapshot, or the events since this state's `seq`. Events
   * newer than a snapshot that arrived before it (the room is joined before the board is read)
   * are kept and applied on top of it. Answers the events of a replay that were applied, in
   * order, or 'snapshot' when the board was read afresh (the events it missed are not known).
   */
  sync(answer: BoardJoinData): BoardEventJson[] | 'snapshot' {
    if ('events' in answer) return answer.events.flatMap((event) => this.receive(event));
    const newer = [...this.early.values()].filter((event) => event.seq > answer.seq);
    this.early.clear();
    this.reset(answer);
    this.seq = answer.seq;
    this.project = { ...answer.project, seq: answer.seq };
    for (const event of newer) this.receive(event);
    return 'snapshot';
  }

  /**
   * Applies an event in order: older ones are dropped, early ones wait for the gap to fill.
   * Answers the events applied, in `seq` order: none, this one, or this one and the early ones
   * that waited for it.
   */
  receive(event: BoardEventJson): BoardEventJson[] {
    if (event.seq <= this.seq) return [];
    if (event.seq > this.seq + 1) {
      this.early.set(event.seq, event);
      return [];
    }
    const applied = [event];
    this.apply(event);
    for (let next = this.early.get(this.seq + 1); next; next = this.early.get(this.seq + 1)) {
      this.early.delete(next.seq);
      this.apply(next);
      applied.push(next);
    }
    for (const seq of this.early.keys()) if (seq <= this.seq) this.early.delete(seq);
    return applied;
  }

  private apply(event: BoardEventJson): void {
    this.seq = event.seq;
    this.project = { ...this.project, seq: event.seq };
    switch (event.type) {
      case 'task.created':
      case 'task.updated':
      case 'task.moved': {
        const { task } = event.data as TaskEventData;
        this.tasks.set(task.id, task);
        break;
      }
      case 'task.deleted':
        this.tasks.delete((event.data as { taskId: string }).taskId);
        break;
      case 'column.created':
      case 'column.updated':
      case 'column.moved':
        this.columns.set((event.data as ColumnEventData).column.id, (event.data as ColumnEventData).column);
        break;
      case 'column.deleted': {
        const { column, tasks = [] } = event.data as ColumnEventData;
        this.columns.delete(column.id);
        for (const task of tasks) this.tasks.set(task.id, task);
        break;
      }
      case 'project.updated':
        this.project = { ...(event.data as { project: ProjectJson }).project, seq: event.seq };
        break;
    }
  }

  private reset(snapshot: BoardSnapshot): void {
    this.columns.clear();
    this.tasks.clear();
    for (const column of snapshot.columns) this.columns.set(column.id, column);
    for (const task of snapshot.tasks) this.tasks.set(task.id, task);
  }
}

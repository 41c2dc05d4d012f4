import type { Announcements } from '@dnd-kit/core';
import type { BoardState, TaskJson } from '../../../index.js';

/** Whether the drag under way is still where it was picked up (a ref of the board screen's, kept across renders). */
export interface DragStart {
  current: boolean;
}

/**
 * What a screen reader hears while a card is dragged: card titles and column names, not ids.
 * `columnOf` says which column a card is shown in at the moment (while dragged, where it would land).
 */
export function announcements(
  board: BoardState,
  tasks: Map<string, TaskJson>,
  columnOf: (taskId: string) => string | undefined,
  atStart: DragStart,
): Announcements {
  const title = (id: string | number) => tasks.get(String(id))?.title ?? 'the card';
  const columnName = (id: string | undefined) => (id ? board.columns.get(id)?.name : undefined) ?? 'the board';
  const where = (active: string | number, over: string | number | undefined) => {
    if (over === undefined) return 'nowhere';
    if (board.columns.has(String(over))) return `column ${columnName(String(over))}`;
    const place = `column ${columnName(columnOf(String(over)))}`;
    return over === active ? place : `“${title(over)}” in ${place}`;
  };
  return {
    onDragStart: ({ active }) => {
      atStart.current = true;
      return `Picked up “${title(active.id)}”. Use the arrow keys to move it, Space to drop it, Escape to cancel.`;
    },
    // Over its own place is where the drag starts: said then, it replaced "Picked up…" before a
    // screen reader read it. Back over it later (returned to its column) is said.
    onDragOver: ({ active, over }) => {
      const stillAtStart = atStart.current && over?.id === active.id;
      atStart.current = stillAtStart;
      return stillAtStart ? undefined : `“${title(active.id)}” is over ${where(active.id, over?.id)}.`;
    },
    onDragEnd: ({ active, over }) =>
      over ? `“${title(active.id)}” was dropped on ${where(active.id, over.id)}.` : `“${title(active.id)}” was dropped.`,
    onDragCancel: ({ active }) => `Moving “${title(active.id)}” was cancelled.`,
  };
}

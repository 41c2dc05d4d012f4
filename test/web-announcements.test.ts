import type { Active, Over } from '@dnd-kit/core';
import { describe, expect, it } from 'vitest';
import { BoardState } from '../client/board-state.js';
import { announcements } from '../client/web/src/board/announcements.js';
import type { ColumnJson, TaskJson } from '../shared/wire.js';

// What a screen reader hears while a card is dragged with the keyboard, one step at a time.
const column = (id: string, name: string, position: string): ColumnJson => ({ id, projectId: 'p', name, position, isDone: false });
const task = (id: string, title: string, position: string): TaskJson => ({
  id,
  projectId: 'p',
  columnId: 'todo',
  title,
  description: null,
  priority: 0,
  assigneeId: null,
  dueDate: null,
  position,
  version: 1,
  labelIds: [],
  createdBy: null,
  createdAt: '2026-12-06T00:00:00.000Z',
  updatedAt: '2026-12-06T00:00:00.000Z',
  completedAt: null,
});

describe('the drag announcements', () => {
  it("say the card's place when it comes back over it, but not as it is picked up", () => {
    const board = new BoardState({
      project: { id: 'p', orgId: 'o', name: 'Board', description: null, status: 'active', seq: 1 },
      columns: [column('todo', 'To do', 'a0'), column('doing', 'In progress', 'a1')],
      tasks: [task('stay', 'Stay', 'a0'), task('back', 'Come back', 'a1')],
      seq: 1,
    });
    const said = announcements(board, board.tasks, (id) => board.tasks.get(id)?.columnId, { current: false });
    const active = { id: 'back' } as Active;
    const over = (id: string) => ({ active, over: { id } as Over });

    expect(said.onDragStart({ active })).toMatch(/^Picked up “Come back”\./);
    expect(said.onDragOver(over('back'))).toBeUndefined(); // where it starts: "Picked up" is still being read
    expect(said.onDragOver(over('stay'))).toBe('“Come back” is over “Stay” in column To do.');
    expect(said.onDragOver(over('back'))).toBe('“Come back” is over column To do.');
    expect(said.onDragEnd(over('back'))).toBe('“Come back” was dropped on column To do.');
    // The next drag starts afresh.
    expect(said.onDragStart({ active })).toMatch(/^Picked up/);
    expect(said.onDragOver(over('back'))).toBeUndefined();
  });
});

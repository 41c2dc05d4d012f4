import {
  type ClientRect,
  type DragEndEvent,
  type DragOverEvent,
  type DragStartEvent,
  type KeyboardCoordinateGetter,
  KeyboardSensor,
  MouseSensor,
  TouchSensor,
  type UniqueIdentifier,
  useSensor,
  useSensors,
} from '@dnd-kit/core';
import { arrayMove, hasSortableData, sortableKeyboardCoordinates } from '@dnd-kit/sortable';
import { useState } from 'react';
import { type ColumnView, containerOf, type Neighbours, neighboursIn, type Placement, placementOf } from './board-view.js';

export interface BoardDrag {
  sensors: ReturnType<typeof useSensors>;
  activeId: string | null;
  /** Column id → task ids while a card is dragged (the card shown where it would land); null otherwise. */
  placement: Placement | null;
  onDragStart(event: DragStartEvent): void;
  onDragOver(event: DragOverEvent): void;
  onDragEnd(event: DragEndEvent): void;
  onDragCancel(): void;
}

// The sensors' options, the same objects at every render: new ones would make new sensors, and so a
// new dnd-kit context that re-renders every card.
const MOUSE = { activationConstraint: { distance: 5 } }; // a click opens the card
const TOUCH = { activationConstraint: { delay: 200, tolerance: 8 } }; // a tap opens it, a swipe scrolls
/**
 * Left and right take a dragged card to the next column that way, at the height it is at; up and
 * down are dnd-kit's, along its column. (dnd-kit's own left took the card's own column, whose box
 * starts left of the card, for the next one: the first press did nothing, or reordered the column.)
 */
const columnKeyboardCoordinates: KeyboardCoordinateGetter = (event, args) => {
  const way = event.code === 'ArrowRight' ? 1 : event.code === 'ArrowLeft' ? -1 : 0;
  if (way === 0) return sortableKeyboardCoordinates(event, args);
  event.preventDefault();
  const { collisionRect, droppableRects, droppableContainers } = args.context;
  if (!collisionRect) return undefined;
  const centre = collisionRect.left + collisionRect.width / 2;
  let next: ClientRect | undefined;
  for (const container of droppableContainers.getEnabled()) {
    const rect = droppableRects.get(container.id);
    if (!rect || hasSortableData(container)) continue; // cards: only the columns count here
    const distance = way * (rect.left + rect.width / 2 - centre);
    const nearer = next === undefined || distance < way * (next.left + next.width / 2 - centre);
    if (distance > collisionRect.width / 2 && nearer) next = rect;
  }
  return next && { x: next.left + (next.width - collisionRect.width) / 2, y: collisionRect.top };
};

const KEYBOARD = {
  coordinateGetter: columnKeyboardCoordinates,
  keyboardCodes: { start: ['Space'], cancel: ['Escape'], end: ['Space'] }, // Enter opens the card
};

/**
 * Dragging cards between columns with the mouse, a finger (touch and hold a moment, then drag; a
 * finger that moves at once scrolls the page as usual) or the keyboard (focus a card, Space,
 * arrows, Space; Escape cancels). While a card is dragged it is shown in the column under it; on drop,
 * `onMove` gets its column and its neighbours there, unless it ends where it started.
 */
export function useBoardDrag(view: ColumnView[], onMove: (taskId: string, columnId: string, neighbours: Neighbours) => void): BoardDrag {
  const [activeId, setActiveId] = useState<string | null>(null);
  const [placement, setPlacement] = useState<Placement | null>(null);
  const sensors = useSensors(
    // Mouse and touch apart (not one pointer sensor): a pointer sensor would claim a finger too,
    // and lose it to the browser's scrolling as soon as it moved (the card is `touch-action: manipulation`).
    useSensor(MouseSensor, MOUSE),
    useSensor(TouchSensor, TOUCH),
    useSensor(KeyboardSensor, KEYBOARD),
  );

  const reset = () => {
    setActiveId(null);
    setPlacement(null);
  };

  return {
    sensors,
    activeId,
    placement,
    onDragStart: ({ active }) => {
      setActiveId(String(active.id));
      setPlacement(placementOf(view));
    },
    onDragOver: ({ active, over }) => {
      if (!over) return;
      setPlacement((current) => (current ? moveAcross(current, String(active.id), over.id) : current));
    },
    onDragEnd: ({ active, over }) => {
      const current = placement;
      reset();
      if (!over || !current) return;
      const taskId = String(active.id);
      const columnId = containerOf(current, String(over.id));
      if (!columnId) return;
      let ids = current[columnId]!;
      const from = ids.indexOf(taskId);
      const to = ids.indexOf(String(over.id));
      if (from >= 0 && to >= 0 && from !== to) ids = arrayMove(ids, from, to);
      // Only tasks still in that column on the board can be named as neighbours.
      const still = new Set(view.find((entry) => entry.column.id === columnId)?.tasks.map((task) => task.id));
      ids = ids.filter((id) => id === taskId || still.has(id));
      const neighbours = neighboursIn(ids, taskId);
      const before = placementOf(view);
      const was = containerOf(before, taskId);
      const unchanged = was === columnId && sameNeighbours(neighboursIn(before[columnId]!, taskId), neighbours);
      if (!unchanged) onMove(taskId, columnId, neighbours);
    },
    onDragCancel: reset,
  };
}

/** The card shown in the column it is dragged over, where the pointer is (or at the end). */
function moveAcross(placement: Placement, taskId: string, overId: UniqueIdentifier): Placement {
  const from = containerOf(placement, taskId);
  const to = containerOf(placement, String(overId));
  if (!from || !to || from === to) return placement;
  const target = placement[to]!;
  const overIndex = target.indexOf(String(overId));
  const index = overIndex >= 0 ? overIndex : target.length;
  return {
    ...placement,
    [from]: placement[from]!.filter((id) => id !== taskId),
    [to]: [...target.slice(0, index), taskId, ...target.slice(index)],
  };
}

const sameNeighbours = (a: Neighbours, b: Neighbours) => a.afterId === b.afterId && a.beforeId === b.beforeId;

import type { LabelJson, TaskJson } from '../../../index.js';
import { type ColumnView, keepUnchanged } from './board-view.js';

/** What the board's filter asks for: words a card's title, description or labels hold, and whether only the user's own cards. */
export interface CardFilter {
  text: string;
  mine: boolean;
}

export const NO_FILTER: CardFilter = { text: '', mine: false };

export const isFiltering = (filter: CardFilter) => filter.text.trim() !== '' || filter.mine;

/** Text as compared: lower case, accents aside ("Café" holds "cafe"). */
const folded = (text: string) => text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/**
 * Whether a card is kept: it holds every word of the filter's text (in its title, description or
 * label names; case and accents aside) and, with `mine`, is assigned to the user.
 */
export function cardMatcher(filter: CardFilter, userId: string, labels: Map<string, LabelJson>): (task: TaskJson) => boolean {
  const words = folded(filter.text).split(/\s+/).filter(Boolean);
  return (task) => {
    if (filter.mine && task.assigneeId !== userId) return false;
    if (words.length === 0) return true;
    const names = task.labelIds.map((id) => labels.get(id)?.name ?? '');
    const text = folded([task.title, task.description ?? '', ...names].join('\n'));
    return words.every((word) => text.includes(word));
  };
}

/**
 * The board with only the cards `keep` keeps (`keepUnchanged` against the view shown `last`). A
 * card dropped between two kept cards lands right after the upper one, above any hidden card: the
 * server places a card whose named neighbours are no longer side by side so.
 */
export function filteredView(view: ColumnView[], keep: (task: TaskJson) => boolean, last: readonly ColumnView[] | null): ColumnView[] {
  return keepUnchanged(
    view.map(({ column, tasks }) => ({ column, tasks: tasks.filter(keep) })),
    last,
  );
}

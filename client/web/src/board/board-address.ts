import { useEffect } from 'react';
import { replaceAddress } from '../app/router.js';
import type { CardFilter } from './card-filter.js';

/**
 * What a board's address holds besides its path: the filter (`q`, `mine=1`) and the card whose
 * dialog is open (`card`), so that a reload shows the same, and a link shared with a teammate
 * opens the same card or filter.
 */
export interface BoardAddress {
  filter: CardFilter;
  card: string | null;
}

/** The filter's longest text, as its field takes it. */
export const FILTER_MAX_LENGTH = 200;

export function readBoardAddress(search: string = location.search): BoardAddress {
  const query = new URLSearchParams(search);
  return {
    filter: { text: (query.get('q') ?? '').slice(0, FILTER_MAX_LENGTH), mine: query.get('mine') === '1' },
    card: query.get('card') || null,
  };
}

export function boardSearch({ filter, card }: BoardAddress): string {
  const query = new URLSearchParams();
  if (filter.text) query.set('q', filter.text);
  if (filter.mine) query.set('mine', '1');
  if (card) query.set('card', card);
  const search = query.toString();
  return search ? `?${search}` : '';
}

/**
 * Keeps the page's address in step with the board's filter and open card. It replaces the
 * history entry rather than adding one, so Back leaves the board, not a keystroke of the filter.
 */
export function useBoardAddress({ filter, card }: BoardAddress): void {
  const { text, mine } = filter;
  useEffect(() => {
    const search = boardSearch({ filter: { text, mine }, card });
    if (search !== location.search) replaceAddress(location.pathname + search + location.hash);
  }, [text, mine, card]);
}

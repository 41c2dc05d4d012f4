import type { CardFilter } from './card-filter.js';
import { isFiltering, NO_FILTER } from './card-filter.js';
import { FILTER_MAX_LENGTH } from './board-address.js';

/**
 * The board's filter: words to look for in cards, and "Only my cards". While it hides cards it says
 * how many it shows, to screen readers too, and offers to clear it. Cards still move while
 * filtered (see `filteredView`).
 */
export function CardFilterBar({
  filter,
  onChange,
  shown,
  total,
}: {
  filter: CardFilter;
  onChange: (filter: CardFilter) => void;
  shown: number;
  total: number;
}) {
  return (
    <div className="card-filter" role="search">
      <input
        type="search"
        aria-label="Filter cards"
        placeholder="Filter cards"
        value={filter.text}
        maxLength={FILTER_MAX_LENGTH}
        onChange={(e) => onChange({ ...filter, text: e.target.value })}
      />
      <label className="check">
        <input type="checkbox" checked={filter.mine} onChange={(e) => onChange({ ...filter, mine: e.target.checked })} />
        Only my cards
      </label>
      <span role="status" className="hint">
        {isFiltering(filter) ? `${shown} of ${total} cards shown` : ''}
      </span>
      {isFiltering(filter) && (
        <button type="button" className="link-button" onClick={() => onChange(NO_FILTER)}>
          Clear filter
        </button>
      )}
    </div>
  );
}

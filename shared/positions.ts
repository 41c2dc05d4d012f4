/**
 * The order of cards and columns on a board: by `position`, a fractional-indexing key, compared
 * code unit by code unit. Keys are ASCII, so this is the order of PostgreSQL's `COLLATE "C"` that
 * the server sorts them by: the server, the SDK and the web board agree.
 */
export function byPosition(a: { position: string }, b: { position: string }): number {
  return a.position < b.position ? -1 : a.position > b.position ? 1 : 0;
}

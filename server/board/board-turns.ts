/**
 * One change of a board at a time on this node takes the general path (`commitBoardChange`);
 * the board's others wait here, in the order they came, holding no database connection. Writers
 * of one board queue on its `seq` row anyway, each holding a pooled connection while it waits:
 * many changes to one busy board, or one board whose row a long transaction holds, would take
 * every connection of the pool, and every other board of the node would wait with them.
 */
export class BoardTurns {
  private readonly last = new Map<string, Promise<void>>();

  /** Runs `work` once the board's changes that came before it here have settled. */
  async take<T>(board: string, work: () => Promise<T>): Promise<T> {
    const before = this.last.get(board);
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    this.last.set(board, mine);
    try {
      await before;
      return await work();
    } finally {
      done();
      if (this.last.get(board) === mine) this.last.delete(board);
    }
  }
}

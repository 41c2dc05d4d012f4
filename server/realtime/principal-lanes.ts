/**
 * At most `perPrincipal` socket events of one principal (a user, or an API key) run at once on
 * this node, whatever number of sockets they come from; the rest wait their turn, in order, up to
 * `maxWaiting` of them (`full`). So one account's flood of board joins or changes, from however
 * many sockets, can neither take every database connection the node has from everyone else nor
 * pile up without bound.
 */
export class PrincipalLanes {
  private readonly lanes = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(
    private readonly perPrincipal: number,
    private readonly maxWaiting = Infinity,
  ) {}

  /** Whether `principal` already has `maxWaiting` events waiting for their turn. */
  full(principal: string): boolean {
    return (this.lanes.get(principal)?.waiting.length ?? 0) >= this.maxWaiting;
  }

  /** Runs `work` in `principal`'s lane: at once if it has room, else after those before it. */
  async run<T>(principal: string, work: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(principal);
    if (!lane) this.lanes.set(principal, (lane = { running: 0, waiting: [] }));
    if (lane.running < this.perPrincipal) lane.running += 1;
    else await new Promise<void>((resolve) => lane.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = lane.waiting.shift();
      if (next)
        next(); // the place passes to the next in line
      else if ((lane.running -= 1) === 0) this.lanes.delete(principal);
    }
  }
}

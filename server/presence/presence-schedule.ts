export interface PresenceScheduleOptions {
  /** Sends the room's list now; resolves, never rejects, to the milliseconds of this node's time it took. */
  send: (room: string) => Promise<number>;
  /** How many sockets of this node are in the room: what its list costs to send here. */
  localSockets: (room: string) => number;
  cycleMs: number;
  /** The most of a cycle's time its lists may take, by the cost measured so far. */
  budgetMs: number;
  /** What a list costs per socket it goes to, until measured. */
  msPerSocket?: number;
}

/**
 * When boards' presence lists go out. A list goes to everyone on the board, so a board of n
 * viewers that fills up one join at a time costs n² writes: in a reconnect storm (a node
 * restarted, every board's viewers coming back) that was most of the node's time, taken from the
 * joins and changes that carry the work. So the boards whose list changed send it together, once
 * a cycle, oldest change first, up to the cycle's budget of time (a list's cost per socket is
 * measured as they go); the boards left over keep their place and send their then-latest list in
 * a cycle after. A calm node sends every changed board in the next cycle; in a storm a board's
 * lists come further apart, none is lost. A board's list is never sent twice at once (a slow
 * node of the cluster can hold one up for seconds), so the latest one is always the last to arrive.
 */
export class PresenceSchedule {
  /** Rooms whose list changed since it was last sent, in the order they first changed. */
  private readonly changed = new Set<string>();
  private readonly sending = new Set<string>();
  private msPerSocket: number;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: PresenceScheduleOptions) {
    this.msPerSocket = options.msPerSocket ?? 0.02;
  }

  /** Something changed who is on this room's board: its list goes out in a coming cycle. */
  touch(room: string): void {
    if (this.closed) return;
    this.changed.add(room);
    this.plan();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.changed.clear();
  }

  private plan(): void {
    if (this.timer || this.closed || this.changed.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.cycle();
    }, this.options.cycleMs);
  }

  private cycle(): void {
    let planned = 0;
    for (const room of this.changed) {
      if (this.sending.has(room)) continue;
      const sockets = Math.max(1, this.options.localSockets(room));
      const cost = sockets * this.msPerSocket;
      if (planned > 0 && planned + cost > this.options.budgetMs) break;
      planned += cost;
      this.changed.delete(room);
      this.sending.add(room);
      void this.options.send(room).then((ms) => {
        this.sending.delete(room);
        if (ms > 0) this.msPerSocket = 0.8 * this.msPerSocket + 0.2 * (ms / sockets);
        this.plan();
      });
    }
    this.plan();
  }
}

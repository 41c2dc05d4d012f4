/** Runs work at most `n` at a time; the rest wait their turn, in the order they came. */
export class Turns {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly n: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running < this.n) this.running += 1;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next(); // the turn passes on
      else this.running -= 1;
    }
  }
}

/** A small typed event emitter that runs in the browser and in Node alike. */
export class Emitter<Events extends Record<string, (...args: any[]) => void>> {
  private readonly listeners = new Map<keyof Events, Set<(...args: any[]) => void>>();

  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    const set = this.listeners.get(event) ?? new Set();
    this.listeners.set(event, set);
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * Calls every listener. One that throws, or an async one whose promise rejects, does not stop
   * the others or the emitter's own work: its error goes to `listenerFailed`.
   */
  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        const returned: unknown = listener(...args);
        if (returned instanceof Promise) returned.catch((error: unknown) => this.listenerFailed(error, event));
      } catch (error) {
        this.listenerFailed(error, event);
      }
    }
  }

  /** Whether `event` has a listener. */
  protected listens(event: keyof Events): boolean {
    return (this.listeners.get(event)?.size ?? 0) > 0;
  }

  /** A listener's error: thrown again outside, on a timer, as a browser does for a DOM event listener's. */
  protected listenerFailed(error: unknown, _event: keyof Events): void {
    setTimeout(() => {
      throw error;
    });
  }
}

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
   * Calls every listener. One that throws does not stop the others or the client's own work: its
   * error is thrown again outside, on a timer, as a browser does for a DOM event listener.
   */
  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        listener(...args);
      } catch (error) {
        setTimeout(() => {
          throw error;
        });
      }
    }
  }
}

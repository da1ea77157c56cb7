/** A tiny typed event emitter. `on` returns the function that removes the listener. */
export class Emitter<Events extends Record<keyof Events, (...args: never[]) => void>> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => void set.delete(listener);
  }

  /**
   * Calls every listener of `event` and returns how many there were. A listener that throws does
   * not stop the others or the caller: its error is rethrown from a fresh task (as the browser
   * does for event handlers), so it still reaches `window.onerror` or `uncaughtException`.
   */
  emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): number {
    const set = this.listeners.get(event);
    if (!set) return 0;
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<Events[E]>) => void)(...args);
      } catch (error) {
        rethrowLater(error);
      }
    }
    return set.size;
  }
}

export function rethrowLater(error: unknown): void {
  setTimeout(() => {
    throw error;
  }, 0);
}

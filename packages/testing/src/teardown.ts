/** Anything a test starts and must stop: closed (or stopped) in reverse order by {@link Teardown.run}. */
export type Disposable = { close(): Promise<unknown> | unknown } | { stop(): Promise<unknown> | unknown };

/**
 * Collects what a test file starts, so one `afterEach(teardown.run)` stops all of it, last
 * started first, even when the test failed half-way.
 */
export class Teardown {
  readonly #items: Disposable[] = [];

  /** Remembers `item` and returns it, for `const x = teardown.add(await start())`. */
  add<T extends Disposable>(item: T): T {
    this.#items.push(item);
    return item;
  }

  /** Remembers every item, in order. */
  push(...items: Disposable[]): void {
    this.#items.push(...items);
  }

  readonly run = async (): Promise<void> => {
    for (const item of this.#items.splice(0).reverse()) await ('close' in item ? item.close() : item.stop());
  };
}

/** One row of the demo: what the page lists and edits. */
export interface Item {
  id: string;
  title: string;
  done: boolean;
  /** Bumped on every edit, so a page can show that it got the latest version. */
  version: number;
}

export const INITIAL_ITEMS: readonly Pick<Item, 'id' | 'title' | 'done'>[] = [
  { id: '1', title: 'Write the protocol page', done: true },
  { id: '2', title: 'Ship the client', done: false },
  { id: '3', title: 'Run the demo in two tabs', done: false },
];

/** The demo's database: a map in memory. */
export class ItemStore {
  private readonly items = new Map<string, Item>();

  constructor(initial: readonly Pick<Item, 'id' | 'title' | 'done'>[] = INITIAL_ITEMS) {
    for (const item of initial) this.items.set(item.id, { ...item, version: 1 });
  }

  ids(): string[] {
    return [...this.items.keys()];
  }

  get(id: string): Item | undefined {
    return this.items.get(id);
  }

  /** Applies an edit; returns the new item, or `undefined` when there is no such item. */
  update(id: string, edit: { title?: string; done?: boolean }): Item | undefined {
    const item = this.items.get(id);
    if (!item) return undefined;
    const next = { ...item, ...edit, version: item.version + 1 };
    this.items.set(id, next);
    return next;
  }
}

/** One row of the todos table. */
export interface Todo {
  id: string;
  owner: string;
  title: string;
  done: boolean;
}

/** What a write changed: the row before (absent on an insert) and after (absent on a delete). */
export interface RowChange {
  before?: Todo;
  after?: Todo;
}

/**
 * The application's table, in memory (a database in a real app). Every write returns what it
 * changed, so the caller can tell entity-sync which lists it touched.
 */
export class TodoTable {
  readonly #rows = new Map<string, Todo>();
  #nextId = 1;

  get(id: string): Todo | undefined {
    return this.#rows.get(id);
  }

  /** The rows of one owner, oldest first (by id). */
  listByOwner(owner: string): Todo[] {
    return [...this.#rows.values()].filter((todo) => todo.owner === owner).sort((a, b) => Number(a.id) - Number(b.id));
  }

  insert(owner: string, title: string): RowChange {
    const after: Todo = { id: String(this.#nextId++), owner, title, done: false };
    this.#rows.set(after.id, after);
    return { after };
  }

  /** Changes some fields of a row (a new `owner` moves it to another list); `undefined` if there is no such row. */
  update(id: string, fields: Partial<Omit<Todo, 'id'>>): RowChange | undefined {
    const before = this.#rows.get(id);
    if (before === undefined) return undefined;
    const after = { ...before, ...fields };
    this.#rows.set(id, after);
    return { before, after };
  }

  delete(id: string): RowChange | undefined {
    const before = this.#rows.get(id);
    if (before === undefined) return undefined;
    this.#rows.delete(id);
    return { before };
  }
}

/** The value the application "reads from its database": in memory, same shape for every target. */
export interface Value {
  id: string;
  seq: number;
  /** When the orchestrator wrote this value (see `clock.ts`); 0 for the initial value. */
  ts: number;
  pad: string;
}

/** One update as the orchestrator sends it: `[id, seq, ts]`. */
export type UpdateItem = [id: string, seq: number, ts: number];

/** What one server node does for one batch: write `set`, then notify `notify` (ids), in one tick. */
export interface UpdateBatch {
  entity: string;
  set: UpdateItem[];
  notify: string[];
}

/** The in-memory "database" of one node. Only ids matter: every entity type reads the same rows. */
export class Store {
  readonly #rows = new Map<string, Value>();

  constructor(private readonly pad: string) {}

  get(id: string): Value {
    let row = this.#rows.get(id);
    if (!row) {
      row = { id, seq: 0, ts: 0, pad: this.pad };
      this.#rows.set(id, row);
    }
    return row;
  }

  set([id, seq, ts]: UpdateItem): void {
    this.#rows.set(id, { id, seq, ts, pad: this.pad });
  }
}

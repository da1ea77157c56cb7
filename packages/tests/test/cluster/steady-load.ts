import type { ClusterRun } from './cluster-run.js';

/** Writes and notifies from random nodes in a loop until stopped; counts rejected notifies. */
export class SteadyLoad {
  writes = 0;
  failures = 0;
  #stopped = false;
  readonly #workers: Promise<void>[];

  constructor(run: ClusterRun, parallel = 8) {
    this.#workers = Array.from({ length: parallel }, async () => {
      while (!this.#stopped) {
        this.writes++;
        await run.writeAndNotify().catch(() => this.failures++);
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
  }

  /** Stops the loop and waits for the notifies in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#workers);
  }
}

/** Lets a fault last `ms` (the fault's length is part of the scenario, not a synchronisation). */
export function faultFor(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

import { Fifo } from './fifo.js';

/** One call of a fetch handler, as the scheduler runs it. */
export interface FetchTask {
  /** Calls the handler: a value, a promise of one, or a throw. */
  run(): unknown;
  /** The call is over (settled, timed out, or the scheduler drains): abort what is left. */
  finish(): void;
}

/** Why a fetch gave no value. */
export class FetchFailure {
  constructor(
    readonly code: 'FETCH_FAILED' | 'FETCH_TIMEOUT',
    readonly cause: unknown,
  ) {}
}

export interface SchedulerHooks<J, T extends FetchTask> {
  /** A fetch of `job` starts now: the task to run, or `undefined` when nobody needs it any more. */
  start(job: J): T | undefined;
  /**
   * Every finished fetch, with the value the task returned (or resolved to), or why it has
   * none; `seq` orders fetches by start.
   */
  done(job: J, seq: number, task: T, value: unknown, failure: FetchFailure | undefined): void;
}

export interface SchedulerOptions {
  maxConcurrent: number;
  timeoutMs: number;
}

interface Slot<J> {
  readonly id: string;
  readonly job: J;
  running: boolean;
  /** Asked again while running: fetch once more afterwards. */
  dirty: boolean;
  /** The sequence number of the fetch running now. */
  seq: number;
}

/**
 * Runs fetches, knowing nothing of what they are for: at most one per job id at a time, where
 * requests arriving meanwhile collapse into exactly one follow-up; at most `maxConcurrent` at
 * once overall (the rest wait in line); each bounded by `timeoutMs`. Every fetch gets a sequence
 * number when it starts, so the caller can keep a value fetched earlier from overtaking one
 * fetched later. A task that answers synchronously (an in-memory store, a cache) is finished at
 * once, without a timer or a promise.
 */
export class FetchScheduler<J, T extends FetchTask = FetchTask> {
  readonly #slots = new Map<string, Slot<J>>();
  readonly #waiting = new Fifo<Slot<J>>();
  readonly #tasks = new Set<T>();
  #running = 0;
  #seq = 0;
  #idle: Array<() => void> = [];
  started = 0;
  failed = 0;
  /** Requests absorbed by a fetch of the same job already running (dirty) or waiting in line. */
  coalesced = 0;

  constructor(
    private readonly options: SchedulerOptions,
    private readonly hooks: SchedulerHooks<J, T>,
  ) {}

  /** The sequence number of the latest fetch started. */
  get seq(): number {
    return this.#seq;
  }

  get inFlight(): number {
    return this.#running;
  }

  get queued(): number {
    return this.#waiting.size;
  }

  /**
   * The sequence number of the fetch of `id` running now and not asked for again since (its
   * result will be the latest), or `undefined`.
   */
  runningSeq(id: string): number | undefined {
    const slot = this.#slots.get(id);
    return slot?.running && !slot.dirty ? slot.seq : undefined;
  }

  /** Asks for a fresh fetch of `job`, known by `id` (the job of the first request is kept). */
  request(id: string, job: J): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) {
      const created: Slot<J> = { id, job, running: false, dirty: false, seq: 0 };
      this.#slots.set(id, created);
      if (this.#running < this.options.maxConcurrent) {
        this.#running++;
        this.#drive(created);
      } else {
        this.#waiting.push(created);
      }
    } else {
      this.coalesced++;
      if (slot.running) slot.dirty = true;
    }
    // A slot still waiting in line has not started: it will read the change anyway.
  }

  /**
   * Holds one concurrency slot: runs `slot`, then whoever waits in line, for as long as fetches
   * finish synchronously; gives the slot back when nobody waits. (A loop, not recursion, so a
   * long line of synchronous fetches cannot overflow the stack.)
   */
  #drive(first: Slot<J> | undefined): void {
    for (let slot = first; slot !== undefined; slot = this.#waiting.shift()) {
      if (this.#execute(slot)) return; // went asynchronous: #await drives on
      this.#slots.delete(slot.id);
    }
    this.#running--;
    if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Fetches `slot` until it is no longer dirty; returns true when a fetch went asynchronous. */
  #execute(slot: Slot<J>): boolean {
    do {
      slot.dirty = false;
      const task = this.hooks.start(slot.job);
      if (task === undefined) return false;
      slot.running = true;
      const seq = ++this.#seq;
      slot.seq = seq;
      this.started++;
      let returned: unknown;
      try {
        returned = task.run();
      } catch (cause) {
        this.#settle(slot, seq, task, undefined, new FetchFailure('FETCH_FAILED', cause));
        continue;
      }
      if (isThenable(returned)) {
        this.#await(slot, seq, task, returned);
        return true;
      }
      this.#settle(slot, seq, task, returned, undefined);
    } while (slot.dirty);
    return false;
  }

  #await(slot: Slot<J>, seq: number, task: T, returned: PromiseLike<unknown>): void {
    this.#tasks.add(task);
    let settled = false;
    const settle = (value: unknown, failure: FetchFailure | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#tasks.delete(task);
      this.#settle(slot, seq, task, value, failure);
      if (slot.dirty && this.#execute(slot)) return;
      this.#slots.delete(slot.id);
      this.#drive(this.#waiting.shift());
    };
    const timer = setTimeout(() => settle(undefined, new FetchFailure('FETCH_TIMEOUT', undefined)), this.options.timeoutMs);
    Promise.resolve(returned).then(
      (value) => settle(value, undefined),
      (cause: unknown) => settle(undefined, new FetchFailure('FETCH_FAILED', cause)),
    );
  }

  /** Hands the outcome over; requests made meanwhile (even from `done`) mark the slot dirty. */
  #settle(slot: Slot<J>, seq: number, task: T, value: unknown, failure: FetchFailure | undefined): void {
    task.finish();
    if (failure !== undefined) this.failed++;
    try {
      this.hooks.done(slot.job, seq, task, value, failure);
    } finally {
      slot.running = false;
    }
  }

  /** Aborts running fetches and waits (at most `timeoutMs`) for them to settle. */
  async drain(timeoutMs: number): Promise<void> {
    for (const task of this.#tasks) task.finish();
    if (this.#running === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#idle.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

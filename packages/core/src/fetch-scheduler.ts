import { type EncodedBatch, encodeValues } from './encode.js';
import { EntitySyncError } from './errors.js';
import type { KeyString } from './keys.js';
import type { GroupId, Subscription } from './subscription.js';
import type { KeyEntry, SubscriptionIndex } from './subscription-index.js';
import { FetchCall } from './fetch-call.js';
import { Fifo } from './fifo.js';

export type FetchResult = { ok: true; batch: EncodedBatch } | { ok: false; code: 'FETCH_FAILED' | 'FETCH_TIMEOUT'; error: EntitySyncError };

export interface SchedulerOptions {
  maxConcurrent: number;
  timeoutMs: number;
  /** Receives every finished fetch; `seq` orders fetches by start. */
  deliver(entry: KeyEntry, group: GroupId, seq: number, result: FetchResult): void;
}

interface Job {
  id: string;
  keyString: KeyString;
  group: GroupId;
  running: boolean;
  /** A change arrived while running: fetch once more afterwards. */
  dirty: boolean;
}

/**
 * Runs fetches: at most one per (key, group) at a time, where changes arriving meanwhile
 * collapse into exactly one follow-up; at most `maxConcurrent` at once overall; each bounded
 * by `timeoutMs`. Every fetch gets a sequence number when it starts, so a value fetched earlier
 * is never delivered after one fetched later.
 */
export class FetchScheduler {
  /** Jobs by {@link jobId}: one flat map, as most keys have one group at a time. */
  readonly #jobs = new Map<string, Job>();
  readonly #waiting = new Fifo<() => void>();
  readonly #calls = new Set<FetchCall>();
  #running = 0;
  #seq = 0;
  #idle: Array<() => void> = [];
  started = 0;
  failed = 0;

  constructor(
    private readonly index: SubscriptionIndex,
    private readonly options: SchedulerOptions,
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

  /** Asks for a fresh fetch of `keyString` for `group`. */
  request(keyString: KeyString, group: GroupId): void {
    const id = jobId(keyString, group);
    const job = this.#jobs.get(id);
    if (job === undefined) {
      const created: Job = { id, keyString, group, running: false, dirty: false };
      this.#jobs.set(id, created);
      void this.#run(created);
    } else if (job.running) {
      job.dirty = true;
    }
    // A job still waiting for a slot has not started: it will read the change anyway.
  }

  async #run(job: Job): Promise<void> {
    do {
      job.dirty = false;
      await this.#acquire();
      job.running = true;
      try {
        await this.#fetchOnce(job);
      } finally {
        job.running = false;
        this.#release();
      }
    } while (job.dirty);
    this.#jobs.delete(job.id);
  }

  async #fetchOnce(job: Job): Promise<void> {
    const entry = this.index.get(job.keyString);
    const members = entry?.groups.get(job.group);
    if (entry === undefined || members === undefined) return;
    let representative: Subscription | undefined;
    for (const sub of members) {
      if (sub.state === 'active') {
        representative = sub;
        break;
      }
    }
    if (representative === undefined) return;
    const seq = ++this.#seq;
    this.started++;
    const { scope } = entry.entity;
    const secret = scope === 'shared' ? '' : representative.owner.secret;
    const clientId = scope === 'client' ? representative.owner.id : undefined;
    const pending = this.#call(entry, secret, clientId);
    const result = pending instanceof Promise ? await pending : pending;
    if (!result.ok) this.failed++;
    const current = this.index.get(job.keyString);
    if (current !== undefined) this.options.deliver(current, job.group, seq, result);
  }

  /**
   * Calls the handler. A handler that answers synchronously (an in-memory store, a cache) is
   * done at once, without a timer; one that returns a promise races `timeoutMs`.
   */
  #call(entry: KeyEntry, secret: string, clientId: string | undefined): FetchResult | Promise<FetchResult> {
    const call = new FetchCall(secret, clientId);
    let returned: unknown;
    try {
      returned = entry.entity.fetch(entry.key, call);
    } catch (cause) {
      call.finish();
      return failed(entry, cause);
    }
    if (!isThenable(returned)) {
      call.finish();
      return finish(entry, call, returned);
    }
    this.#calls.add(call);
    return new Promise<FetchResult>((resolve) => {
      const settle = (result: FetchResult): void => {
        clearTimeout(timer);
        call.finish();
        this.#calls.delete(call);
        resolve(result);
      };
      const timer = setTimeout(() => {
        const error = new EntitySyncError('FETCH_TIMEOUT', `fetch of ${entry.keyString} timed out`);
        settle({ ok: false, code: 'FETCH_TIMEOUT', error });
      }, this.options.timeoutMs);
      Promise.resolve(returned).then(
        (value) => settle(finish(entry, call, value)),
        (cause: unknown) => settle(failed(entry, cause)),
      );
    });
  }

  #acquire(): Promise<void> {
    if (this.#running < this.options.maxConcurrent) {
      this.#running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(): void {
    const next = this.#waiting.shift();
    if (next !== undefined) {
      next();
      return;
    }
    this.#running--;
    if (this.#running === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  /** Aborts running fetches and waits (at most `timeoutMs`) for them to settle. */
  async drain(timeoutMs: number): Promise<void> {
    for (const call of this.#calls) call.finish();
    if (this.#running === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.#idle.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}

/** One string per (key, group); the group's length first, so no two pairs can share one. */
function jobId(keyString: KeyString, group: GroupId): string {
  return `${group.length}:${group}${keyString}`;
}

/** The values of a call: those sent through `ctx.send` first, then the returned one. */
function finish(entry: KeyEntry, call: FetchCall, returned: unknown): FetchResult {
  if (returned !== undefined) call.values.push(returned);
  try {
    return { ok: true, batch: encodeValues(entry.key, call.values) };
  } catch (cause) {
    return failed(entry, cause);
  }
}

function failed(entry: KeyEntry, cause: unknown): FetchResult {
  const error = new EntitySyncError('FETCH_FAILED', `fetch of ${entry.keyString} failed`, { cause });
  return { ok: false, code: 'FETCH_FAILED', error };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

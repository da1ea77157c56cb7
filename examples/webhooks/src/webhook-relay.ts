import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffMs, type ResolvedRelayOptions, resolveRelayOptions, type WebhookRelayOptions } from './relay-options.js';

/** What the relay counts. */
export interface RelayStats {
  /** Events the receiver accepted (a 2xx). */
  delivered: number;
  /** Events given up: `maxAttempts` failed attempts, or a 4xx that retrying cannot fix. */
  failed: number;
  /** Events dropped unsent because the queue was full (the oldest waiting one goes). */
  dropped: number;
  /** Attempts after the first, over all events. */
  retries: number;
  /** Events waiting, the one being sent not included. */
  queued: number;
}

/** One event as the receiver gets it, as the JSON body of a POST. */
export interface WebhookEvent {
  /** Unique per event, the same on each attempt: receivers de-duplicate by it. */
  id: string;
  [field: string]: unknown;
}

/**
 * Sends events to one URL as JSON POSTs, one at a time and in order, with retries (exponential
 * backoff) and a bounded queue that drops the oldest waiting event when full. It never throws
 * from the background: every outcome is a counter in {@link stats} and a call of `onOutcome`.
 */
export class WebhookRelay {
  readonly #options: ResolvedRelayOptions;
  readonly #queue: WebhookEvent[] = [];
  readonly #stats = { delivered: 0, failed: 0, dropped: 0, retries: 0 };
  readonly #stop = new AbortController();
  /** The delivery loop while it runs; cleared by the loop itself in the same step that finds the queue empty. */
  #running: Promise<void> | undefined;

  constructor(
    options: WebhookRelayOptions,
    private readonly onOutcome: (event: WebhookEvent, outcome: 'delivered' | 'failed' | 'dropped', detail: string) => void = () => {},
  ) {
    this.#options = resolveRelayOptions(options);
  }

  /** Queues `fields` as one event (with a fresh `id`); returns the event. */
  enqueue(fields: Record<string, unknown>): WebhookEvent {
    const event: WebhookEvent = { ...fields, id: randomUUID() };
    if (this.#stop.signal.aborted) return event;
    this.#queue.push(event);
    if (this.#queue.length > this.#options.maxQueue) {
      const oldest = this.#queue.shift()!;
      this.#stats.dropped++;
      this.onOutcome(oldest, 'dropped', `the queue holds at most ${this.#options.maxQueue} events`);
    }
    this.#running ??= this.#drain();
    return event;
  }

  stats(): RelayStats {
    return { ...this.#stats, queued: this.#queue.length };
  }

  /** Stops: aborts the attempt in flight and forgets the queue. Resolves with how many events were left unsent. */
  async close(): Promise<number> {
    this.#stop.abort();
    const left = this.#queue.length;
    this.#queue.length = 0;
    await this.#running;
    return left;
  }

  async #drain(): Promise<void> {
    try {
      for (let event = this.#queue.shift(); event !== undefined && !this.#stop.signal.aborted; event = this.#queue.shift()) {
        await this.#deliver(event);
      }
    } finally {
      this.#running = undefined; // synchronously after the empty queue was seen: an enqueue from now on starts a new loop
    }
  }

  /** Attempts one event until it is delivered, refused for good, or out of attempts. */
  async #deliver(event: WebhookEvent): Promise<void> {
    let detail = '';
    for (let attempt = 1; attempt <= this.#options.maxAttempts; attempt++) {
      if (attempt > 1) {
        this.#stats.retries++;
        const waited = await sleep(backoffMs(this.#options, attempt), true, { signal: this.#stop.signal }).catch(() => false);
        if (!waited) return;
      }
      const result = await this.#attempt(event, attempt);
      if (result === 'ok') {
        this.#stats.delivered++;
        this.onOutcome(event, 'delivered', `attempt ${attempt}`);
        return;
      }
      if (this.#stop.signal.aborted) return;
      detail = result.detail;
      if (!result.retry) break;
    }
    this.#stats.failed++;
    this.onOutcome(event, 'failed', detail);
  }

  /** One POST: `ok`, or why not and whether another attempt may help. */
  async #attempt(event: WebhookEvent, attempt: number): Promise<'ok' | { retry: boolean; detail: string }> {
    const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(this.#options.timeoutMs)]);
    try {
      const response = await fetch(this.#options.url, {
        method: 'POST',
        headers: {
          ...this.#options.headers,
          'content-type': 'application/json',
          'x-webhook-id': event.id,
          'x-webhook-attempt': String(attempt),
        },
        body: JSON.stringify(event),
        signal,
      });
      await response.body?.cancel();
      if (response.ok) return 'ok';
      // 408, 429 and 5xx are worth another attempt; any other 4xx will be refused again.
      const retry = response.status === 408 || response.status === 429 || response.status >= 500;
      return { retry, detail: `HTTP ${response.status}` };
    } catch (error) {
      return { retry: true, detail: error instanceof Error ? error.message : String(error) };
    }
  }
}

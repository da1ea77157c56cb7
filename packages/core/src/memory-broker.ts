import type { Broker, BrokerHandlers, BrokerSession, BrokerStatus } from './broker.js';

/** A delay in ms: a fixed number, or a function asked once per operation (random or scripted). */
export type Latency = number | (() => number);

export interface MemoryBrokerOptions {
  /**
   * How long a subscribe takes to be confirmed, as a broker in another zone would. The
   * subscription takes effect at once; only the confirmation waits. For race tests. @default 0
   */
  subscribeLatency?: Latency;
  /** How long a published message takes to reach subscribers. @default 0 (a microtask) */
  deliveryLatency?: Latency;
}

/**
 * The in-process bus: the default broker of `createEntitySync`, and the reference
 * implementation of {@link Broker}. Several bridges sharing one `MemoryBroker` behave like a
 * cluster of nodes on one real bus.
 *
 * Delivery is asynchronous (a microtask), as on a real bus. For fault tests, {@link setDown}
 * simulates an outage: while down, subscribes wait, publishes are refused and nothing is
 * delivered; on recovery every session reports `'up'`. {@link MemoryBrokerOptions} add latency to
 * confirmations and deliveries, so that races with a distant broker show up in one process.
 */
export class MemoryBroker implements Broker {
  readonly #sessions = new Set<MemorySession>();
  readonly #subscribeLatency: () => number;
  readonly #deliveryLatency: () => number;
  #down = false;
  #recovered: Promise<void> = Promise.resolve();
  #recover: () => void = () => {};

  constructor(options: MemoryBrokerOptions = {}) {
    this.#subscribeLatency = latency(options.subscribeLatency);
    this.#deliveryLatency = latency(options.deliveryLatency);
  }

  connect(handlers: BrokerHandlers): Promise<BrokerSession> {
    const session = new MemorySession(this, handlers);
    this.#sessions.add(session);
    return Promise.resolve(session);
  }

  /** Simulates the loss (`true`) or recovery (`false`) of the bus for every session. */
  setDown(down: boolean): void {
    if (down === this.#down) return;
    this.#down = down;
    if (down) this.#recovered = new Promise((resolve) => (this.#recover = resolve));
    else this.#recover();
    const status: BrokerStatus = down ? 'down' : 'up';
    for (const session of this.#sessions) session.report(status);
  }

  get isDown(): boolean {
    return this.#down;
  }

  /** Number of sessions subscribed to `subject` (to observe interest-based routing). */
  subscriberCount(subject: string): number {
    let count = 0;
    for (const session of this.#sessions) if (session.subjects.has(subject)) count++;
    return count;
  }

  /** @internal */
  whenUp(): Promise<void> {
    return this.#recovered;
  }

  /** @internal */
  deliver(subject: string, payload: Uint8Array): void {
    const deliver = (): void => {
      for (const session of this.#sessions) session.receive(subject, payload);
    };
    const ms = this.#deliveryLatency();
    if (ms > 0) setTimeout(deliver, ms);
    else queueMicrotask(deliver);
  }

  /** @internal Resolves when a subscribe made now would be confirmed. */
  confirmation(): Promise<void> {
    const ms = this.#subscribeLatency();
    return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
  }

  /** @internal */
  remove(session: MemorySession): void {
    this.#sessions.delete(session);
  }
}

class MemorySession implements BrokerSession {
  readonly subjects = new Set<string>();
  #closed = false;

  constructor(
    private readonly bus: MemoryBroker,
    private readonly handlers: BrokerHandlers,
  ) {}

  async subscribe(subject: string): Promise<void> {
    while (this.bus.isDown) await this.bus.whenUp();
    if (!this.#closed) this.subjects.add(subject);
    await this.bus.confirmation();
  }

  async unsubscribe(subject: string): Promise<void> {
    this.subjects.delete(subject);
  }

  async publish(subject: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error('memory broker session is closed');
    if (this.bus.isDown) throw new Error('memory broker is down');
    this.bus.deliver(subject, payload);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.subjects.clear();
    this.bus.remove(this);
  }

  receive(subject: string, payload: Uint8Array): void {
    if (!this.#closed && this.subjects.has(subject) && !this.bus.isDown) {
      this.handlers.message(subject, payload);
    }
  }

  report(status: BrokerStatus): void {
    this.handlers.status?.(status);
  }
}

function latency(value: Latency | undefined): () => number {
  if (typeof value === 'function') return value;
  const ms = value ?? 0;
  return () => ms;
}

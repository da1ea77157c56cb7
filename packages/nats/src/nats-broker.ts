import { type Broker, type BrokerHandlers, type BrokerSession, EntitySyncError } from '@entity-sync/core';
import { connect } from 'nats';
import {
  DEFAULTS,
  type NatsBrokerOptions,
  type NatsBrokerServersOptions,
  type NatsConnectionLike,
  type NatsMsgLike,
  type NatsStatusLike,
  type NatsSubscriptionLike,
  validateOptions,
} from './options.js';

/**
 * A {@link Broker} over NATS core pub/sub. One session per node; what each session promises:
 *
 * - **Connections.** With `{ servers, ...connectOptions }` a session opens its own connection,
 *   reconnects forever with a wait that grows with the outage (see {@link reconnectDelay}), and
 *   closes it on `close()`. With `{ connection }` every session uses your connection, each with
 *   its own subscriptions, and none ever closes it.
 * - **subscribe** resolves after a `flush()` round trip, so the server holds the subscription.
 *   When that server belongs to a cluster it then waits `clusterPropagationMs`, the time the
 *   other servers need to learn of it over the routes.
 * - **Status.** `'down'` on the client's `disconnect` event (or when a round trip fails, which
 *   only a lost connection causes). `'up'` after `reconnect` and a successful flush: `nats`
 *   sends every subscription first thing on a new connection, so the flush proves that the
 *   server has them all again.
 * - **publish** resolves only once the server has the message: the publishes (and subscribes)
 *   of one turn of the event loop share one flush. `nats` v2 throws its outbound buffer away at
 *   every reconnect attempt, so a publish it had only queued could be lost after resolving.
 *   Instead a failed flush reports `'down'` and then rejects, and a publish while down rejects
 *   at once: the core holds it (`maxBufferedPublishes`, `busTimeoutMs`) and sends it again
 *   after `'up'`. The core's buffer is the only one. A rejected publish may still have reached
 *   the server; sent again it arrives twice, which costs a subscriber one extra fetch.
 *
 * @example
 * const sync = createEntitySync({ broker: createNatsBroker({ servers: 'nats://127.0.0.1:4222' }) });
 */
export function createNatsBroker(options: NatsBrokerOptions): Broker {
  validateOptions(options);
  const settleMs = options.clusterPropagationMs ?? DEFAULTS.clusterPropagationMs;
  if ('connection' in options) {
    const { connection } = options;
    return { connect: async (handlers) => new NatsSession(connection, handlers, settleMs) } satisfies Broker;
  }
  return { connect: (handlers) => openSession(options, handlers, settleMs) } satisfies Broker;
}

/** A session on a connection of its own, closed with the session. */
async function openSession(options: NatsBrokerServersOptions, handlers: BrokerHandlers, settleMs: number): Promise<BrokerSession> {
  const { clusterPropagationMs: _, reconnectMaxWait, reconnectJitter, ...natsOptions } = options;
  const wait = {
    minMs: natsOptions.reconnectTimeWait ?? DEFAULTS.reconnectTimeWait,
    maxMs: reconnectMaxWait ?? DEFAULTS.reconnectMaxWait,
    jitterMs: reconnectJitter ?? DEFAULTS.reconnectJitter,
  };
  let session: NatsSession | undefined;
  const connection: NatsConnectionLike = await connect({
    maxReconnectAttempts: -1,
    reconnectDelayHandler: () => reconnectDelay(session?.downForMs ?? 0, wait),
    ...natsOptions,
  });
  session = new NatsSession(connection, handlers, settleMs, () => connection.close());
  return session;
}

/**
 * The wait before the next reconnect round: a quarter of the time spent disconnected, between
 * `minMs` and `maxMs`, plus up to `jitterMs`. Short blips reconnect fast; a long outage does not
 * hammer the servers, and nodes do not reconnect in lock step.
 */
function reconnectDelay(downMs: number, wait: { minMs: number; maxMs: number; jitterMs: number }): number {
  const base = Math.min(wait.maxMs, Math.max(wait.minMs, downMs / 4));
  return Math.round(base + Math.random() * wait.jitterMs);
}

/** One node's session: its own subscriptions, status watch and publish round trips. */
class NatsSession implements BrokerSession {
  readonly #subscriptions = new Map<string, NatsSubscriptionLike>();
  readonly #statuses: AsyncIterable<NatsStatusLike> & { stop?(): void };
  /** The flush on the wire, and the one that will follow it (see {@link NatsSession.#confirm}). */
  #inFlight: Promise<void> | undefined;
  #next: Promise<void> | undefined;
  #downSince: number | undefined;
  #closed = false;

  constructor(
    private readonly connection: NatsConnectionLike,
    private readonly handlers: BrokerHandlers,
    private readonly settleMs: number,
    private readonly release: () => Promise<void> = async () => {},
  ) {
    this.#statuses = connection.status();
    void this.#watchStatus();
    void this.#watchClosed();
  }

  /** How long the connection has been down (0 while up); drives {@link reconnectDelay}. */
  get downForMs(): number {
    return this.#downSince === undefined ? 0 : Date.now() - this.#downSince;
  }

  async subscribe(subject: string): Promise<void> {
    if (this.#closed) throw new EntitySyncError('CLOSED', 'NATS broker session is closed');
    if (!this.#subscriptions.has(subject)) {
      const subscription = this.connection.subscribe(subject, {
        callback: (err, msg) => this.#receive(subject, subscription, err, msg),
      });
      this.#subscriptions.set(subject, subscription);
    }
    try {
      await this.#confirm();
    } catch (cause) {
      this.#drop(subject);
      throw new EntitySyncError('UNAVAILABLE', `NATS did not confirm ${subject}`, { cause });
    }
    if (this.settleMs > 0 && this.connection.info?.cluster) {
      await new Promise((resolve) => setTimeout(resolve, this.settleMs));
    }
  }

  async unsubscribe(subject: string): Promise<void> {
    this.#drop(subject);
  }

  async publish(subject: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw publishFailed('NATS broker session is closed');
    if (this.#downSince !== undefined) throw publishFailed('NATS is disconnected');
    try {
      this.connection.publish(subject, payload);
    } catch (cause) {
      throw publishFailed(`NATS refused a publish to ${subject}`, cause);
    }
    try {
      await this.#confirm();
    } catch (cause) {
      throw publishFailed(`NATS lost the connection before confirming a publish to ${subject}`, cause);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const subject of [...this.#subscriptions.keys()]) this.#drop(subject);
    this.#statuses.stop?.();
    await this.release();
  }

  /**
   * Resolves once the server confirmed everything sent before the call. One flush is on the
   * wire at a time; what is sent meanwhile (the rest of this turn of the event loop, and later
   * turns) waits for the next one, so a burst costs one round trip per round-trip time, not one
   * per publish. Only a lost connection fails a flush, so a failure reports `'down'` before any
   * caller sees the rejection (the core holds a publish only while its session is down).
   */
  #confirm(): Promise<void> {
    this.#next ??= this.#flushAfter(this.#inFlight);
    return this.#next;
  }

  async #flushAfter(previous: Promise<void> | undefined): Promise<void> {
    await previous?.catch(() => undefined);
    const self = this.#next;
    this.#inFlight = self;
    this.#next = undefined;
    try {
      await this.connection.flush();
    } catch (error) {
      this.#markDown();
      throw error;
    } finally {
      if (this.#inFlight === self) this.#inFlight = undefined;
    }
  }

  async #watchStatus(): Promise<void> {
    try {
      for await (const { type } of this.#statuses) {
        if (this.#closed) return;
        if (type === 'disconnect') this.#markDown();
        if (type === 'reconnect') void this.#markUp();
      }
    } catch (error) {
      this.#error(error);
    }
  }

  async #watchClosed(): Promise<void> {
    const result = await this.connection.closed();
    if (this.#closed) return;
    this.#markDown();
    this.#error(result ?? new Error('NATS connection closed'));
  }

  #markDown(): void {
    if (this.#downSince !== undefined) return;
    this.#downSince = Date.now();
    if (!this.#closed) this.handlers.status?.('down');
  }

  async #markUp(): Promise<void> {
    try {
      await this.#confirm();
    } catch {
      return; // lost again; the next reconnect tries again
    }
    if (this.#downSince === undefined || this.#closed) return;
    this.#downSince = undefined;
    this.handlers.status?.('up');
  }

  #receive(subject: string, subscription: NatsSubscriptionLike, err: Error | null, msg: NatsMsgLike): void {
    if (err) return this.#error(err);
    if (this.#closed || this.#subscriptions.get(subject) !== subscription) return;
    this.handlers.message(subject, msg.data);
  }

  #drop(subject: string): void {
    const subscription = this.#subscriptions.get(subject);
    this.#subscriptions.delete(subject);
    if (subscription && !this.connection.isClosed()) subscription.unsubscribe();
  }

  #error(error: unknown): void {
    if (!this.#closed) this.handlers.error?.(error instanceof Error ? error : new Error(String(error)));
  }
}

function publishFailed(message: string, cause?: unknown): EntitySyncError {
  return new EntitySyncError('PUBLISH_FAILED', message, cause === undefined ? undefined : { cause });
}

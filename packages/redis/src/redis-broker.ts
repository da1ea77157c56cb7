import { once } from 'node:events';
import { type Broker, type BrokerHandlers, type BrokerSession, type BrokerStatus, EntitySyncError } from '@entity-sync/core';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisBrokerOptions, RedisClient } from './options.js';
import { validateOptions } from './options.js';

/**
 * A {@link Broker} over Redis pub/sub on `ioredis`. One session per node; what each session
 * promises:
 *
 * - **Connections.** One publishes and one subscribes (a subscribed connection cannot publish).
 *   With `{ url }` or `{ cluster }` a session opens both and closes them on `close()`; ioredis
 *   reconnects them (forever, by default). With `{ publisher, subscriber }` every session uses
 *   your clients and none closes them; sessions sharing a subscriber unsubscribe a channel on
 *   the server only when the last of them lets go of it. With `{ publisher }` alone each session
 *   subscribes on a duplicate of it, which it closes.
 * - **subscribe** resolves when Redis answered the `SUBSCRIBE` (`SSUBSCRIBE` with `sharded`).
 * - **Status.** `'down'` when either connection closes; `'up'` once both are ready again and
 *   Redis answered a `SUBSCRIBE` for every channel of the session.
 * - **publish** resolves when Redis answered the `PUBLISH`. While down it rejects at once, and
 *   the publisher this broker opens has no offline queue (`enableOfflineQueue: false`): the core
 *   holds publishes while its session is down (`maxBufferedPublishes`, `busTimeoutMs`), and its
 *   buffer is the only one. A publish that fails because the publisher is not connected reports
 *   `'down'` before it rejects, so the core holds that one too.
 *
 * @example
 * const sync = createEntitySync({ broker: createRedisBroker({ url: 'redis://127.0.0.1:6379' }) });
 */
export function createRedisBroker(options: RedisBrokerOptions): Broker {
  validateOptions(options);
  const sharded = options.sharded ?? false;
  // How many sessions hold each channel on your subscriber, when you pass one.
  const holders = 'subscriber' in options && options.subscriber ? new Map<string, number>() : undefined;
  const broker = {
    async connect(handlers: BrokerHandlers): Promise<BrokerSession> {
      return new RedisSession(await openClients(options, sharded), sharded, handlers, holders);
    },
  };
  return broker satisfies Broker;
}

/** A session's publisher and subscriber, and which of them it must close. */
interface Clients {
  publisher: RedisClient;
  subscriber: RedisClient;
  owned: RedisClient[];
}

function openClients(options: RedisBrokerOptions, sharded: boolean): Promise<Clients> {
  if ('publisher' in options) {
    const { publisher } = options;
    if (options.subscriber) return whenReady({ publisher, subscriber: options.subscriber, owned: [] });
    const subscriber =
      publisher instanceof Cluster ? publisher.duplicate(undefined, { shardedSubscribers: sharded }) : publisher.duplicate();
    return whenReady({ publisher, subscriber, owned: [subscriber] });
  }
  if ('cluster' in options) {
    const clusterOptions = { ...options.clusterOptions, lazyConnect: true };
    const publisher = new Cluster(options.cluster, { ...clusterOptions, enableOfflineQueue: false });
    const subscriber = new Cluster(options.cluster, { ...clusterOptions, shardedSubscribers: sharded });
    return whenReady({ publisher, subscriber, owned: [publisher, subscriber] });
  }
  const redis = (extra: RedisOptions): Redis => {
    const redisOptions = { ...options.redisOptions, lazyConnect: true, ...extra };
    return options.url ? new Redis(options.url, redisOptions) : new Redis(redisOptions);
  };
  const [publisher, subscriber] = [redis({ enableOfflineQueue: false }), redis({})];
  return whenReady({ publisher, subscriber, owned: [publisher, subscriber] });
}

/** Connects the clients (those created with `lazyConnect` too); closes the owned ones on failure. */
async function whenReady(clients: Clients): Promise<Clients> {
  // The session reports errors once connected, the rejection below before; without a listener
  // ioredis would print every failed attempt.
  for (const client of clients.owned) client.on('error', ignore);
  const ready = async (client: RedisClient): Promise<void> => {
    if (client.status === 'wait') await client.connect();
    else if (client.status !== 'ready') await once(client, 'ready');
  };
  try {
    await Promise.all([ready(clients.publisher), ready(clients.subscriber)]);
    return clients;
  } catch (error) {
    await Promise.allSettled(clients.owned.map(closeOwned));
    throw error;
  }
}

/** `QUIT` when connected, otherwise drop the connection. */
async function closeOwned(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}

// biome-ignore lint/suspicious/noExplicitAny: the listener type ioredis declares
type Listener = (...args: any[]) => void;

/** One node's session: its channels, and the status of its two connections. */
class RedisSession implements BrokerSession {
  readonly #subjects = new Set<string>();
  readonly #listeners: [RedisClient, string, Listener][] = [];
  readonly #up = { publisher: true, subscriber: true };
  #status: BrokerStatus = 'up';
  #closed = false;

  constructor(
    private readonly clients: Clients,
    private readonly sharded: boolean,
    private readonly handlers: BrokerHandlers,
    private readonly holders: Map<string, number> | undefined,
  ) {
    const { publisher, subscriber } = clients;
    this.#listen(subscriber, sharded ? 'smessageBuffer' : 'messageBuffer', (channel: Buffer, message: Buffer) => {
      const subject = channel.toString();
      if (!this.#closed && this.#subjects.has(subject)) handlers.message(subject, message);
    });
    this.#listen(publisher, 'close', () => this.#setUp('publisher', false));
    this.#listen(publisher, 'ready', () => this.#setUp('publisher', true));
    this.#listen(subscriber, 'close', () => this.#setUp('subscriber', false));
    this.#listen(subscriber, 'ready', () => void this.#resubscribe());
    for (const client of new Set([publisher, subscriber])) {
      this.#listen(client, 'error', (error: Error) => this.#status === 'up' && this.#error(error));
    }
  }

  async subscribe(subject: string): Promise<void> {
    if (this.#closed) throw new EntitySyncError('CLOSED', 'Redis broker session is closed');
    const fresh = !this.#subjects.has(subject);
    if (fresh) {
      this.#subjects.add(subject);
      this.holders?.set(subject, (this.holders.get(subject) ?? 0) + 1);
    }
    try {
      await this.#command('subscribe', subject);
    } catch (cause) {
      if (fresh) this.#letGo(subject);
      throw new EntitySyncError('UNAVAILABLE', `Redis did not confirm ${subject}`, { cause });
    }
  }

  async unsubscribe(subject: string): Promise<void> {
    if (!this.#letGo(subject)) return;
    const sent = this.#command('unsubscribe', subject);
    // While disconnected it waits in the subscriber's offline queue, and must not stall a close.
    if (!this.#up.subscriber) return void sent.catch(ignore);
    await sent.catch((error: Error) => this.#error(error));
  }

  async publish(subject: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw publishFailed('Redis broker session is closed');
    if (this.#status === 'down') throw publishFailed('Redis is disconnected');
    const { publisher } = this.clients;
    const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    try {
      await (this.sharded ? publisher.spublish(subject, bytes) : publisher.publish(subject, bytes));
    } catch (cause) {
      if (publisher.status !== 'ready') this.#setUp('publisher', false);
      throw publishFailed(`Redis refused a publish to ${subject}`, cause);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A subscriber this session owns drops its channels with the connection.
    if (this.holders) await Promise.allSettled([...this.#subjects].map((subject) => this.unsubscribe(subject)));
    for (const [client, event, listener] of this.#listeners) client.off(event, listener);
    await Promise.allSettled(this.clients.owned.map(closeOwned));
  }

  /**
   * Forgets `subject`; true when the subscriber should unsubscribe it on the server (no other
   * session sharing the subscriber holds it). False when this session did not hold it.
   */
  #letGo(subject: string): boolean {
    if (!this.#subjects.delete(subject)) return false;
    const others = (this.holders?.get(subject) ?? 1) - 1;
    if (others > 0) this.holders?.set(subject, others);
    else this.holders?.delete(subject);
    return others === 0;
  }

  #command(op: 'subscribe' | 'unsubscribe', channel: string): Promise<unknown> {
    const { subscriber } = this.clients;
    if (this.sharded) return op === 'subscribe' ? subscriber.ssubscribe(channel) : subscriber.sunsubscribe(channel);
    return op === 'subscribe' ? subscriber.subscribe(channel) : subscriber.unsubscribe(channel);
  }

  /** After a reconnect: subscribe every channel again, then count the subscriber as up. */
  async #resubscribe(): Promise<void> {
    if (this.#up.subscriber) return;
    try {
      await Promise.all([...this.#subjects].map((subject) => this.#command('subscribe', subject)));
      this.#setUp('subscriber', true);
    } catch (error) {
      this.#error(error as Error);
    }
  }

  #setUp(which: 'publisher' | 'subscriber', up: boolean): void {
    this.#up[which] = up;
    const status = this.#up.publisher && this.#up.subscriber ? 'up' : 'down';
    if (status === this.#status) return;
    this.#status = status;
    if (!this.#closed) this.handlers.status?.(status);
  }

  #listen(client: RedisClient, event: string, listener: Listener): void {
    client.on(event, listener);
    this.#listeners.push([client, event, listener]);
  }

  #error(error: Error): void {
    if (!this.#closed) this.handlers.error?.(error);
  }
}

function publishFailed(message: string, cause?: unknown): EntitySyncError {
  return new EntitySyncError('PUBLISH_FAILED', message, cause === undefined ? undefined : { cause });
}

function ignore(): void {}

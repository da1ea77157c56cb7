import { type BrokerStatus, EntitySyncError } from '@entity-sync/core';
import type { RedisClient } from './options.js';

/** A session as the link sees it. */
export interface LinkSession {
  deliver(subject: string, payload: Uint8Array): void;
  status(status: BrokerStatus): void;
  error(error: Error): void;
}

interface Channel {
  sessions: Set<LinkSession>;
  confirmed: Promise<void>;
}

// ioredis types its listeners as `(...args: any[]) => void`.
// biome-ignore lint/suspicious/noExplicitAny: the listener type ioredis declares
type Listener = (...args: any[]) => void;

/**
 * One publisher and one subscriber connection, shared by the sessions that use them.
 * Subscribes each channel once on the server however many sessions want it, fans messages
 * out to those sessions, and turns connection events into `'down'`/`'up'`. `'up'` is
 * reported only once both connections are ready and every channel was subscribed again.
 */
export class RedisLink {
  readonly sessions = new Set<LinkSession>();
  readonly #channels = new Map<string, Channel>();
  readonly #listeners: [RedisClient, string, Listener][] = [];
  #publisherReady = true;
  #subscriberReady = true;
  #up = true;
  #pending = 0;
  #disposed = false;

  constructor(
    readonly publisher: RedisClient,
    readonly subscriber: RedisClient,
    private readonly sharded: boolean,
    private readonly maxPendingPublishes: number,
  ) {
    this.#listen(subscriber, sharded ? 'smessageBuffer' : 'messageBuffer', this.#onMessage);
    this.#listen(publisher, 'close', () => this.#setReady('publisher', false));
    this.#listen(publisher, 'ready', () => this.#setReady('publisher', true));
    this.#listen(subscriber, 'close', () => this.#setReady('subscriber', false));
    this.#listen(subscriber, 'ready', () => void this.#resubscribe());
    for (const client of new Set([publisher, subscriber])) this.#listen(client, 'error', this.#onError);
  }

  #listen(client: RedisClient, event: string, listener: Listener): void {
    client.on(event, listener);
    this.#listeners.push([client, event, listener]);
  }

  #onMessage = (channel: Buffer, message: Buffer): void => {
    const subject = channel.toString();
    const entry = this.#channels.get(subject);
    if (!entry) return;
    for (const session of entry.sessions) session.deliver(subject, message);
  };

  #onError = (error: Error): void => {
    if (this.#up) for (const session of this.sessions) session.error(error);
  };

  #setReady(which: 'publisher' | 'subscriber', ready: boolean): void {
    if (which === 'publisher') this.#publisherReady = ready;
    else this.#subscriberReady = ready;
    const up = this.#publisherReady && this.#subscriberReady;
    if (up === this.#up || this.#disposed) return;
    this.#up = up;
    for (const session of this.sessions) session.status(up ? 'up' : 'down');
  }

  /** After a reconnect: subscribe every channel again, then count the subscriber as ready. */
  async #resubscribe(): Promise<void> {
    if (this.#subscriberReady) return;
    try {
      await Promise.all([...this.#channels.keys()].map((channel) => this.#serverSubscribe(channel)));
      this.#setReady('subscriber', true);
    } catch (error) {
      for (const session of this.sessions) session.error(error as Error);
    }
  }

  #serverSubscribe(channel: string): Promise<unknown> {
    return this.sharded ? this.subscriber.ssubscribe(channel) : this.subscriber.subscribe(channel);
  }

  #serverUnsubscribe(channel: string): Promise<unknown> {
    return this.sharded ? this.subscriber.sunsubscribe(channel) : this.subscriber.unsubscribe(channel);
  }

  /** Resolves once Redis confirmed the subscription (at once if another session has it). */
  async subscribe(channel: string, session: LinkSession): Promise<void> {
    let entry = this.#channels.get(channel);
    if (!entry) {
      const confirmed = this.#serverSubscribe(channel).then(() => undefined);
      const created: Channel = { sessions: new Set(), confirmed };
      confirmed.catch(() => this.#channels.get(channel) === created && this.#channels.delete(channel));
      this.#channels.set(channel, (entry = created));
    }
    entry.sessions.add(session);
    try {
      await entry.confirmed;
    } catch (error) {
      entry.sessions.delete(session);
      throw new EntitySyncError('UNAVAILABLE', `Redis did not confirm ${channel}`, { cause: error });
    }
  }

  /** Unsubscribes on the server when the last session lets go of `channel`. */
  async unsubscribe(channel: string, session: LinkSession): Promise<void> {
    const entry = this.#channels.get(channel);
    if (!entry?.sessions.delete(session) || entry.sessions.size > 0) return;
    this.#channels.delete(channel);
    // While disconnected the server holds no subscriptions, and a reconnect subscribes only what
    // is still wanted: nothing to send (and waiting for the connection would stall a close).
    if (!this.#subscriberReady) return;
    // Sent before any later subscribe to the same channel, so the order on the wire is right.
    await this.#serverUnsubscribe(channel).catch((error: Error) => session.error(error));
  }

  async publish(channel: string, payload: Uint8Array): Promise<void> {
    if (this.#pending >= this.maxPendingPublishes) {
      const message = `Redis has ${this.#pending} publishes pending (maxPendingPublishes)`;
      throw new EntitySyncError('PUBLISH_FAILED', message);
    }
    const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
    this.#pending++;
    try {
      if (this.sharded) await this.publisher.spublish(channel, bytes);
      else await this.publisher.publish(channel, bytes);
    } catch (error) {
      throw new EntitySyncError('PUBLISH_FAILED', `Redis refused a publish to ${channel}`, {
        cause: error,
      });
    } finally {
      this.#pending--;
    }
  }

  /** Removes the link's listeners from the clients (closing them is up to their owner). */
  dispose(): void {
    this.#disposed = true;
    for (const [client, event, listener] of this.#listeners) client.off(event, listener);
    this.#listeners.length = 0;
  }
}

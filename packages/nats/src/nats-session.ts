import { type BrokerHandlers, type BrokerSession, EntitySyncError } from '@entity-sync/core';
import type { NatsMsgLike, NatsSubscriptionLike } from './nats-connection.js';
import type { LinkListener, NatsLink } from './nats-link.js';

/** One bridge's session on a NATS connection: its own subscriptions, keyed by subject. */
export class NatsSession implements BrokerSession, LinkListener {
  readonly #subscriptions = new Map<string, NatsSubscriptionLike>();
  #closed = false;

  constructor(
    private readonly link: NatsLink,
    private readonly handlers: BrokerHandlers,
    private readonly clusterPropagationMs: number,
    private readonly release: (session: NatsSession) => Promise<void>,
  ) {
    link.listeners.add(this);
  }

  async subscribe(subject: string): Promise<void> {
    if (this.#closed) throw new EntitySyncError('CLOSED', 'NATS broker session is closed');
    if (!this.#subscriptions.has(subject)) {
      const subscription = this.link.connection.subscribe(subject, {
        callback: (err, msg) => this.#receive(subject, subscription, err, msg),
      });
      this.#subscriptions.set(subject, subscription);
    }
    try {
      await this.link.connection.flush();
    } catch (error) {
      this.#drop(subject);
      throw new EntitySyncError('UNAVAILABLE', `NATS did not confirm ${subject}`, { cause: error });
    }
    if (this.clusterPropagationMs > 0 && this.link.clustered) {
      await new Promise((resolve) => setTimeout(resolve, this.clusterPropagationMs));
    }
  }

  #receive(subject: string, sub: NatsSubscriptionLike, err: Error | null, msg: NatsMsgLike): void {
    if (err) return this.error(err);
    if (this.#closed || this.#subscriptions.get(subject) !== sub) return;
    this.handlers.message(subject, msg.data);
  }

  async unsubscribe(subject: string): Promise<void> {
    this.#drop(subject);
  }

  #drop(subject: string): void {
    const subscription = this.#subscriptions.get(subject);
    this.#subscriptions.delete(subject);
    if (subscription && !this.link.connection.isClosed()) subscription.unsubscribe();
  }

  async publish(subject: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw new EntitySyncError('PUBLISH_FAILED', 'NATS broker session is closed');
    this.link.publish(subject, payload);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const subject of [...this.#subscriptions.keys()]) this.#drop(subject);
    this.link.listeners.delete(this);
    await this.release(this);
  }

  status(status: 'up' | 'down'): void {
    if (!this.#closed) this.handlers.status?.(status);
  }

  error(error: Error): void {
    if (!this.#closed) this.handlers.error?.(error);
  }
}

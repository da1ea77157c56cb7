import { type BrokerHandlers, type BrokerSession, type BrokerStatus, EntitySyncError } from '@entity-sync/core';
import type { LinkSession, RedisLink } from './redis-link.js';

/** One bridge's session on a {@link RedisLink}: its own set of subscribed channels. */
export class RedisSession implements BrokerSession, LinkSession {
  readonly #subjects = new Set<string>();
  #closed = false;

  constructor(
    private readonly link: RedisLink,
    private readonly handlers: BrokerHandlers,
    private readonly release: () => Promise<void>,
  ) {
    link.sessions.add(this);
  }

  async subscribe(subject: string): Promise<void> {
    if (this.#closed) throw new EntitySyncError('CLOSED', 'Redis broker session is closed');
    this.#subjects.add(subject);
    try {
      await this.link.subscribe(subject, this);
    } catch (error) {
      this.#subjects.delete(subject);
      throw error;
    }
  }

  async unsubscribe(subject: string): Promise<void> {
    this.#subjects.delete(subject);
    await this.link.unsubscribe(subject, this);
  }

  async publish(subject: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw new EntitySyncError('PUBLISH_FAILED', 'Redis broker session is closed');
    await this.link.publish(subject, payload);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const subjects = [...this.#subjects];
    this.#subjects.clear();
    await Promise.allSettled(subjects.map((subject) => this.link.unsubscribe(subject, this)));
    this.link.sessions.delete(this);
    await this.release();
  }

  deliver(subject: string, payload: Uint8Array): void {
    if (!this.#closed && this.#subjects.has(subject)) this.handlers.message(subject, payload);
  }

  status(status: BrokerStatus): void {
    if (!this.#closed) this.handlers.status?.(status);
  }

  error(error: Error): void {
    if (!this.#closed) this.handlers.error?.(error);
  }
}

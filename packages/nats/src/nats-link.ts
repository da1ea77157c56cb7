import { type BrokerStatus, EntitySyncError } from '@entity-sync/core';
import type { NatsConnectionLike } from './nats-connection.js';

/** What a {@link NatsLink} tells the sessions that use it. */
export interface LinkListener {
  status(status: BrokerStatus): void;
  error(error: Error): void;
}

/** Per-message overhead counted against the buffer bound (`PUB subject len\r\n...\r\n`). */
const PUB_OVERHEAD = 16;

/**
 * Watches one NATS connection for its sessions: turns `disconnect`/`reconnect` status events
 * into `'down'`/`'up'` (`'up'` only after a flush, so the server has the restored
 * subscriptions), and holds publishes made while down in a bounded buffer that is sent on
 * reconnect. (`nats` v2 discards its own outbound buffer at every reconnect attempt.)
 */
export class NatsLink {
  readonly listeners = new Set<LinkListener>();
  readonly #buffer: [subject: string, payload: Uint8Array][] = [];
  #bufferedBytes = 0;
  #down = false;
  #disposed = false;
  #statuses: (AsyncIterable<{ type: string }> & { stop?(): void }) | undefined;

  constructor(
    readonly connection: NatsConnectionLike,
    private readonly maxBufferedBytes: number,
    private readonly hooks: { down?(): void; up?(): void } = {},
  ) {
    void this.#watchStatus();
    void this.#watchClosed();
  }

  /** Whether the connected server is part of a cluster (its `INFO` names one). */
  get clustered(): boolean {
    return Boolean(this.connection.info?.cluster);
  }

  get down(): boolean {
    return this.#down;
  }

  async #watchStatus(): Promise<void> {
    this.#statuses = this.connection.status();
    try {
      for await (const status of this.#statuses) {
        if (this.#disposed) return;
        if (status.type === 'disconnect') this.#markDown();
        if (status.type === 'reconnect') void this.#markUp();
      }
    } catch (error) {
      this.#emitError(error);
    }
  }

  async #watchClosed(): Promise<void> {
    const result = await this.connection.closed();
    if (this.#disposed) return;
    this.#markDown();
    this.#emitError(result ?? new Error('NATS connection closed'));
  }

  #markDown(): void {
    if (this.#down) return;
    this.#down = true;
    this.hooks.down?.();
    for (const listener of this.listeners) listener.status('down');
  }

  async #markUp(): Promise<void> {
    try {
      await this.connection.flush();
    } catch {
      return; // lost again; the next reconnect event tries again
    }
    if (!this.#down || this.#disposed) return;
    this.#flushBuffer();
    this.#down = false;
    this.hooks.up?.();
    for (const listener of this.listeners) listener.status('up');
  }

  /**
   * Sends `payload` now, or while down keeps it for the reconnect. Throws `PUBLISH_FAILED`
   * when the buffer is full or the connection refuses.
   */
  publish(subject: string, payload: Uint8Array): void {
    if (this.#down) return this.#hold(subject, payload);
    try {
      this.connection.publish(subject, payload);
    } catch (error) {
      const message = `NATS refused a publish to ${subject}`;
      throw new EntitySyncError('PUBLISH_FAILED', message, { cause: error });
    }
  }

  #hold(subject: string, payload: Uint8Array): void {
    const bytes = subject.length + payload.byteLength + PUB_OVERHEAD;
    if (this.#bufferedBytes + bytes > this.maxBufferedBytes) {
      throw new EntitySyncError(
        'PUBLISH_FAILED',
        `NATS is disconnected and the publish buffer is full (maxBufferedBytes: ${this.maxBufferedBytes})`,
      );
    }
    this.#buffer.push([subject, payload.slice()]);
    this.#bufferedBytes += bytes;
  }

  #flushBuffer(): void {
    const held = this.#buffer.splice(0);
    this.#bufferedBytes = 0;
    try {
      for (const [subject, payload] of held) this.connection.publish(subject, payload);
    } catch (error) {
      this.#emitError(error);
    }
  }

  #emitError(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    for (const listener of this.listeners) listener.error(err);
  }

  /** Stops watching (the connection itself is closed by its owner). */
  dispose(): void {
    this.#disposed = true;
    this.#statuses?.stop?.();
  }
}

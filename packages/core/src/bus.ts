import type { Broker, BrokerSession, BrokerStatus } from './broker.js';
import { EntitySyncError } from './errors.js';
import type { EntityKey } from './keys.js';

export interface BusOptions {
  nodeId: string;
  timeoutMs: number;
  maxBuffered: number;
  /** A change notification from another node. */
  onChange(key: EntityKey): void;
  /** The bus came back after an outage: notifications may have been lost. */
  onRecovered(): void;
  onError(error: EntitySyncError): void;
}

interface Buffered {
  subject: string;
  payload: Uint8Array;
  resolve(): void;
  reject(error: EntitySyncError): void;
  timer: NodeJS.Timeout;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * This node's side of the bus: opens the broker session, encodes and decodes notifications
 * (`{"entity","id","origin"}`), skips this node's own echoes, and holds publishes in a bounded
 * buffer while the broker is down.
 */
export class Bus {
  /** Resolves once the broker session is open; rejects only if the bus closes first. */
  readonly session: Promise<BrokerSession>;
  /** `'down'` until the first connect succeeds, then as the broker reports. */
  status: BrokerStatus = 'down';
  published = 0;
  received = 0;
  readonly #buffer: Buffered[] = [];
  #closed = false;
  #retry: { timer: NodeJS.Timeout; wake(): void } | undefined;

  constructor(
    broker: Broker,
    private readonly options: BusOptions,
  ) {
    this.session = this.#connect(broker);
    this.session.catch(() => {
      // Only when closed before connecting; callers see the rejection themselves.
    });
  }

  /** Connects, retrying with backoff (100 ms doubling to 5 s) until it works or the bus closes. */
  async #connect(broker: Broker): Promise<BrokerSession> {
    for (let delay = 100; ; delay = Math.min(delay * 2, 5_000)) {
      try {
        const session = await broker.connect({
          message: (_subject, payload) => this.#receive(payload),
          status: (status) => this.#setStatus(status),
          error: (error) => this.options.onError(EntitySyncError.from(error)),
        });
        if (this.#closed) {
          await session.close();
          break;
        }
        this.#setStatus('up');
        return session;
      } catch (cause) {
        this.options.onError(new EntitySyncError('UNAVAILABLE', `broker connect failed; retrying in ${delay} ms`, { cause }));
      }
      if (this.#closed || !(await this.#sleep(delay))) break;
    }
    throw new EntitySyncError('CLOSED', 'the bridge closed before the broker was reachable');
  }

  /** Resolves true after `ms`, or false at once when the bus closes. */
  #sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(true), ms);
      this.#retry = { timer, wake: () => resolve(false) };
    });
  }

  get buffered(): number {
    return this.#buffer.length;
  }

  /** Publishes a change of `key` to every node subscribed to `subject`. */
  publish(subject: string, key: EntityKey): Promise<void> {
    const payload = encoder.encode(JSON.stringify({ entity: key.entity, id: key.id, origin: this.options.nodeId }));
    if (this.status === 'down') return this.#hold(subject, payload);
    return this.#send(subject, payload).catch((error: unknown) => {
      if (this.status === 'down') return this.#hold(subject, payload);
      throw error;
    });
  }

  async #send(subject: string, payload: Uint8Array): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(publishError(`broker did not accept the publish within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    });
    try {
      const session = await Promise.race([this.session, timeout]);
      await Promise.race([session.publish(subject, payload), timeout]);
      this.published++;
    } catch (cause) {
      throw cause instanceof EntitySyncError ? cause : publishError('broker refused the publish', cause);
    } finally {
      clearTimeout(timer);
    }
  }

  #hold(subject: string, payload: Uint8Array): Promise<void> {
    if (this.#buffer.length >= this.options.maxBuffered) {
      return Promise.reject(publishError(`bus is down and ${this.options.maxBuffered} publishes are already waiting`));
    }
    return new Promise((resolve, reject) => {
      const item: Buffered = {
        subject,
        payload,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#buffer.splice(this.#buffer.indexOf(item), 1);
          reject(publishError(`bus stayed down for ${this.options.timeoutMs} ms`));
        }, this.options.timeoutMs),
      };
      this.#buffer.push(item);
    });
  }

  #setStatus(status: BrokerStatus): void {
    if (status === this.status) return;
    this.status = status;
    if (status === 'down') return;
    for (const item of this.#buffer.splice(0)) {
      clearTimeout(item.timer);
      this.#send(item.subject, item.payload).then(item.resolve, item.reject);
    }
    this.options.onRecovered();
  }

  #receive(payload: Uint8Array): void {
    let message: unknown;
    try {
      message = JSON.parse(decoder.decode(payload));
    } catch (cause) {
      this.options.onError(new EntitySyncError('INTERNAL', 'unreadable bus message', { cause }));
      return;
    }
    const { entity, id, origin } = (message ?? {}) as Record<string, unknown>;
    if (typeof entity !== 'string' || typeof id !== 'string') {
      this.options.onError(new EntitySyncError('INTERNAL', 'bus message without entity and id'));
      return;
    }
    if (origin === this.options.nodeId) return;
    this.received++;
    this.options.onChange({ entity, id });
  }

  /** Rejects buffered publishes and closes the session. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) {
      clearTimeout(this.#retry.timer);
      this.#retry.wake();
    }
    for (const item of this.#buffer.splice(0)) {
      clearTimeout(item.timer);
      item.reject(new EntitySyncError('CLOSED', 'bridge closed before the bus came back'));
    }
    const session = await this.session.catch(() => undefined);
    await session?.close();
  }
}

function publishError(message: string, cause?: unknown): EntitySyncError {
  return new EntitySyncError('PUBLISH_FAILED', message, cause === undefined ? undefined : { cause });
}

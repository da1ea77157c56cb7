import type { Broker, BrokerSession, BrokerStatus } from './broker.js';
import { EntitySyncError } from './errors.js';
import type { EntityKey } from './keys.js';

export interface BusOptions {
  nodeId: string;
  /** Subject prefix of the cluster. */
  prefix: string;
  timeoutMs: number;
  maxBuffered: number;
  /** A change notification from another node. */
  onChange(key: EntityKey): void;
  /** The bus came back after an outage: notifications may have been lost. */
  onRecovered(): void;
  /** A control message from another node (e.g. `{"op":"resync"}`), parsed. */
  onControl(message: ControlMessage): void;
  onError(error: EntitySyncError): void;
}

/** Messages on the cluster's control subject, which every node subscribes to. */
export type ControlMessage = { op: 'resync' };

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
 * (`{"origin","entity","id"}`), skips this node's own echoes, and holds publishes in a bounded
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
  /** Publishes of this turn of the event loop, one per subject. */
  #batch: Map<string, { key: EntityKey; promise: Promise<void>; settle(published: Promise<void>): void }> | undefined;
  /** Payloads start with the origin, so a node recognizes its own echo without parsing it. */
  readonly #originField: string;
  readonly #originBytes: Uint8Array;
  /** The session once connected, for the publish fast path. */
  #open: BrokerSession | undefined;
  #closed = false;
  #retry: { timer: NodeJS.Timeout; wake(): void } | undefined;

  /** Every node's subject for cluster-wide control messages (`prefix._control`). */
  readonly #controlSubject: string;

  constructor(
    broker: Broker,
    private readonly options: BusOptions,
  ) {
    this.#controlSubject = `${options.prefix}._control`;
    this.#originField = `{"origin":${JSON.stringify(options.nodeId)},`;
    this.#originBytes = encoder.encode(this.#originField);
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
          message: (subject, payload) => this.#receive(subject, payload),
          status: (status) => this.#setStatus(status),
          error: (error) => this.options.onError(EntitySyncError.from(error)),
        });
        if (!this.#closed) await session.subscribe(this.#controlSubject).catch(closeAndThrow(session));
        if (this.#closed) {
          await session.close();
          break;
        }
        this.#open = session;
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

  /**
   * Publishes a change of `key` to every node subscribed to `subject`. Changes of one key
   * notified in the same turn of the event loop go out as one message, sent after all of them
   * (so it follows every write made before any of those notifies).
   */
  publish(subject: string, key: EntityKey): Promise<void> {
    let batch = this.#batch;
    if (batch === undefined) {
      batch = this.#batch = new Map();
      queueMicrotask(this.#flushBatch);
    }
    let queued = batch.get(subject);
    if (queued === undefined) {
      let settle!: (published: Promise<void>) => void;
      const promise = new Promise<void>((resolve) => (settle = resolve));
      batch.set(subject, (queued = { key, promise, settle }));
    }
    return queued.promise;
  }

  readonly #flushBatch = (): void => {
    const batch = this.#batch;
    this.#batch = undefined;
    for (const [subject, queued] of batch ?? []) queued.settle(this.#publishNow(subject, queued.key));
  };

  #publishNow(subject: string, key: EntityKey): Promise<void> {
    return this.#publishPayload(subject, `"entity":${JSON.stringify(key.entity)},"id":${JSON.stringify(key.id)}}`);
  }

  /** Publishes a control message to every node of the cluster (this one skips its echo). */
  publishControl(message: ControlMessage): Promise<void> {
    return this.#publishPayload(this.#controlSubject, JSON.stringify(message).slice(1));
  }

  /** `fields` is the payload after the origin field: `"a":1,...}`. */
  #publishPayload(subject: string, fields: string): Promise<void> {
    const payload = encoder.encode(`${this.#originField}${fields}`);
    if (this.status === 'down' || this.#open === undefined) return this.#hold(subject, payload);
    return this.#send(this.#open, subject, payload).catch((error: unknown) => {
      if (this.status === 'down') return this.#hold(subject, payload);
      throw error;
    });
  }

  #send(session: BrokerSession, subject: string, payload: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(publishError(`broker did not accept the publish within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      session.publish(subject, payload).then(
        () => {
          clearTimeout(timer);
          this.published++;
          resolve();
        },
        (cause: unknown) => {
          clearTimeout(timer);
          reject(cause instanceof EntitySyncError ? cause : publishError('broker refused the publish', cause));
        },
      );
    });
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
    const session = this.#open;
    for (const item of this.#buffer.splice(0)) {
      clearTimeout(item.timer);
      if (session === undefined) item.reject(publishError('broker session is not open'));
      else this.#send(session, item.subject, item.payload).then(item.resolve, item.reject);
    }
    this.options.onRecovered();
  }

  #receive(subject: string, payload: Uint8Array): void {
    if (startsWith(payload, this.#originBytes)) return; // this node's own echo
    let message: unknown;
    try {
      message = JSON.parse(decoder.decode(payload));
    } catch (cause) {
      this.options.onError(new EntitySyncError('INTERNAL', 'unreadable bus message', { cause }));
      return;
    }
    if (subject === this.#controlSubject) {
      this.#receiveControl(message);
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

  #receiveControl(message: unknown): void {
    const { op, origin } = (message ?? {}) as Record<string, unknown>;
    if (origin === this.options.nodeId) return;
    if (op === 'resync') this.options.onControl({ op });
    else this.options.onError(new EntitySyncError('INTERNAL', `unknown control message ${JSON.stringify(op)}`));
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

/** Closes a session whose set-up failed, then rethrows so that the connect is retried. */
function closeAndThrow(session: BrokerSession): (cause: unknown) => Promise<never> {
  return async (cause) => {
    await session.close().catch(() => undefined);
    throw cause;
  };
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function publishError(message: string, cause?: unknown): EntitySyncError {
  return new EntitySyncError('PUBLISH_FAILED', message, cause === undefined ? undefined : { cause });
}

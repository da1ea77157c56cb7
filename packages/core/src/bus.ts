import type { Broker, BrokerSession, BrokerStatus } from './broker.js';
import { EntitySyncError } from './errors.js';
import type { EntityKey } from './keys.js';
import { Publisher } from './publisher.js';
import { filterProblem, type WireAccessFilter } from './access.js';

export interface BusOptions {
  nodeId: string;
  /** Subject prefix of the cluster. */
  prefix: string;
  timeoutMs: number;
  maxBuffered: number;
  /** A change of a key, from another node, on the key's subject, made at `at` (ms since the epoch). */
  onChange(key: EntityKey, subject: string, at: number): void;
  /** A change of a tag, from another node, on the tag's subject. */
  onTag(subject: string, at: number): void;
  /** The broker reported a loss or a recovery. */
  onStatus(status: BrokerStatus): void;
  /** The bus came back after an outage: notifications may have been lost. */
  onRecovered(): void;
  /** A control message from another node (e.g. `{"op":"resync"}`), parsed. */
  onControl(message: ControlMessage): void;
  onError(error: EntitySyncError): void;
}

/** Messages on the cluster's control subject, which every node subscribes to. */
export type ControlMessage =
  | { op: 'resync' }
  | { op: 'reauthorize'; filter: WireAccessFilter }
  | { op: 'revoke'; filter: WireAccessFilter; code: number };

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
  received = 0;
  readonly #publisher: Publisher;
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
    this.#originBytes = Buffer.from(this.#originField);
    this.#publisher = new Publisher({ timeoutMs: options.timeoutMs, maxBuffered: options.maxBuffered }, () =>
      this.status === 'up' ? this.#open : undefined,
    );
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
    return this.#publisher.buffered;
  }

  get published(): number {
    return this.#publisher.published;
  }

  /** The fields of a change message that name `key` (build them once per key and keep them). */
  static keyFields(key: EntityKey): string {
    return `"entity":${JSON.stringify(key.entity)},"id":${JSON.stringify(key.id)}}`;
  }

  /** The fields of a change message that name `tag`. */
  static tagFields(tag: string): string {
    return `"tag":${JSON.stringify(tag)}}`;
  }

  /**
   * Publishes a change message on its subject: `{"origin","t","entity","id"}` or
   * `{"origin","t","tag"}`, where `t` is when the change happened (ms since the epoch), so other
   * nodes can measure how fresh their deliveries are.
   */
  publish(subject: string, fields: string, at: number): Promise<void> {
    return this.#publisher.publish(subject, Buffer.from(`${this.#originField}"t":${at},${fields}`));
  }

  /** Publishes a control message to every node of the cluster (this one skips its echo). */
  publishControl(message: ControlMessage): Promise<void> {
    return this.#publisher.publish(this.#controlSubject, Buffer.from(`${this.#originField}${JSON.stringify(message).slice(1)}`));
  }

  #setStatus(status: BrokerStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.options.onStatus(status);
    if (status === 'down') return;
    this.#publisher.recovered();
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
    const { entity, id, tag, origin, t } = (message ?? {}) as Record<string, unknown>;
    if (origin === this.options.nodeId) return;
    const at = typeof t === 'number' ? t : Date.now();
    if (typeof entity === 'string' && typeof id === 'string') {
      this.received++;
      this.options.onChange({ entity, id }, subject, at);
    } else if (typeof tag === 'string') {
      this.received++;
      this.options.onTag(subject, at);
    } else {
      this.options.onError(new EntitySyncError('INTERNAL', 'bus message without a key or a tag'));
    }
  }

  #receiveControl(message: unknown): void {
    const { op, origin, filter, code } = (message ?? {}) as Record<string, unknown>;
    if (origin === this.options.nodeId) return;
    if (op === 'resync') return this.options.onControl({ op });
    const problem = op === 'reauthorize' || op === 'revoke' ? filterProblem(filter) : 'unknown';
    if (problem !== undefined) {
      this.options.onError(new EntitySyncError('INTERNAL', `bad control message ${JSON.stringify(op)}: ${problem}`));
    } else if (op === 'reauthorize') {
      this.options.onControl({ op, filter: filter as WireAccessFilter });
    } else {
      this.options.onControl({ op: 'revoke', filter: filter as WireAccessFilter, code: code === 4403 ? 4403 : 4401 });
    }
  }

  /** Rejects buffered publishes and closes the session. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) {
      clearTimeout(this.#retry.timer);
      this.#retry.wake();
    }
    this.#publisher.close();
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

import { randomUUID } from 'node:crypto';
import { Bus } from './bus.js';
import { BusInterest } from './bus-interest.js';
import { Connection, type Hub } from './connection.js';
import { EntitySyncError } from './errors.js';
import { type FetchResult, FetchScheduler } from './fetch-scheduler.js';
import { type EntityKey, ENTITY_NAME_PATTERN, keyProblem, keyString, keySubject } from './keys.js';
import { MemoryBroker } from './memory-broker.js';
import { type EntitySyncOptions, type ResolvedEntity, type ResolvedOptions, parseEntity, parseOptions } from './options.js';
import { CloseCode } from './protocol.js';
import type { GroupId } from './subscription.js';
import { type KeyEntry, SubscriptionIndex } from './subscription-index.js';
import type { AcceptOptions, ConnectionHandle, EntityDefinition, ErrorContext, SocketLike, SyncStats } from './types.js';

/** A node of entity-sync: what `createEntitySync` returns. */
export interface EntitySync {
  /** This node's id on the bus. */
  readonly nodeId: string;
  /**
   * Registers the fetch handler (and optionally `authorize` and `scope`) of an entity type.
   * Throws `INVALID_OPTIONS` on a bad name or definition, or if the name is taken.
   */
  registerEntity(name: string, definition: EntityDefinition): this;
  /**
   * Takes over one client socket. Transports (`@entity-sync/ws`) call this. `secret` is the
   * connection's initial secret (e.g. from `authenticate(req)`), `''` when absent.
   */
  accept(socket: SocketLike, options: AcceptOptions, secret?: string): ConnectionHandle;
  /**
   * Tells every node that `key` (or each of `keys`) changed. This node's own subscribers are
   * fetched for at once; other nodes hear it through the broker. Resolves when the broker
   * accepted the message; rejects with `PUBLISH_FAILED` if it cannot within `busTimeoutMs`.
   * Entity types need not be registered on the notifying node.
   */
  notifyAllOfChange(keys: EntityKey | readonly EntityKey[]): Promise<void>;
  /**
   * Makes every node of the cluster (this one at once, the others through the bus) fetch again
   * every key it holds, as after a broker outage. Change sources call it when they cannot prove
   * that they missed nothing (a lost stream, a dropped slot). Resolves when the broker accepted
   * the message; rejects with `PUBLISH_FAILED` like `notifyAllOfChange`.
   */
  resyncAll(): Promise<void>;
  /**
   * Resolves when the broker session is open. A node whose broker is unreachable at start keeps
   * retrying (reporting each failure to `onError`); meanwhile subscribes wait up to
   * `busTimeoutMs` and publishes wait in the buffer. Rejects only if the node closes first.
   */
  ready(): Promise<void>;
  stats(): SyncStats;
  /**
   * Closes every connection with 1001 (clients reconnect elsewhere), waits up to
   * `closeTimeoutMs` for in-flight fetches, and drops the bus subscriptions. Idempotent.
   */
  close(): Promise<void>;
}

/** Creates a node. Throws `INVALID_OPTIONS` with a readable message on bad options. */
export function createEntitySync(options: EntitySyncOptions = {}): EntitySync {
  return new EntitySyncNode(parseOptions(options));
}

class EntitySyncNode implements EntitySync, Hub {
  readonly nodeId: string;
  readonly index = new SubscriptionIndex();
  readonly interest: BusInterest;
  readonly scheduler: FetchScheduler;
  readonly busTimeoutMs: number;
  readonly skipUnchanged: boolean;
  readonly #entities = new Map<string, ResolvedEntity>();
  readonly #connections = new Set<Connection>();
  readonly #bus: Bus;
  #nextClientId = 0;
  #closing: Promise<void> | undefined;

  constructor(private readonly options: ResolvedOptions) {
    this.nodeId = options.nodeId ?? randomUUID();
    this.busTimeoutMs = options.busTimeoutMs;
    this.skipUnchanged = options.skipUnchanged;
    this.scheduler = new FetchScheduler(this.index, {
      maxConcurrent: options.maxConcurrentFetches,
      timeoutMs: options.fetchTimeoutMs,
      deliver: (entry, group, seq, result) => this.#deliver(entry, group, seq, result),
    });
    this.#bus = new Bus(options.broker ?? new MemoryBroker(), {
      nodeId: this.nodeId,
      timeoutMs: options.busTimeoutMs,
      maxBuffered: options.maxBufferedPublishes,
      onChange: (key) => this.#changedLocally(key),
      prefix: options.prefix,
      onRecovered: () => this.#resync(),
      onControl: () => this.#resync(),
      onError: (error) => this.report(error, {}),
    });
    this.interest = new BusInterest(() => this.#bus.session);
  }

  registerEntity(name: string, definition: EntityDefinition): this {
    if (typeof name !== 'string' || !ENTITY_NAME_PATTERN.test(name)) {
      throw new EntitySyncError('INVALID_OPTIONS', `registerEntity: name must match ${ENTITY_NAME_PATTERN}, got ${JSON.stringify(name)}`);
    }
    if (this.#entities.has(name)) {
      throw new EntitySyncError('INVALID_OPTIONS', `registerEntity: "${name}" is already registered`);
    }
    this.#entities.set(name, parseEntity(name, definition));
    return this;
  }

  accept(socket: SocketLike, options: AcceptOptions, secret = ''): ConnectionHandle {
    const connection = new Connection(String(++this.#nextClientId), socket, this, options, secret);
    if (this.#closing !== undefined) {
      connection.close(CloseCode.GoingAway, 'server shutting down');
      return connection;
    }
    this.#connections.add(connection);
    return connection;
  }

  async notifyAllOfChange(keys: EntityKey | readonly EntityKey[]): Promise<void> {
    if (this.#closing !== undefined) throw new EntitySyncError('CLOSED', 'notifyAllOfChange: the bridge is closed');
    const list = Array.isArray(keys) ? (keys as readonly EntityKey[]) : [keys as EntityKey];
    for (const key of list) checkKey(key);
    for (const key of list) this.#changedLocally(key);
    await Promise.all(list.map((key) => this.#bus.publish(this.subject(key), key)));
  }

  async resyncAll(): Promise<void> {
    if (this.#closing !== undefined) throw new EntitySyncError('CLOSED', 'resyncAll: the bridge is closed');
    this.#resync();
    await this.#bus.publishControl({ op: 'resync' });
  }

  ready(): Promise<void> {
    return this.#bus.session.then(() => undefined);
  }

  stats(): SyncStats {
    return {
      connections: this.#connections.size,
      keys: this.index.keyCount,
      subscriptions: this.index.subscriptionCount,
      busSubscriptions: this.interest.subscribedCount,
      bus: this.#bus.status,
      fetchesInFlight: this.scheduler.inFlight,
      fetchesQueued: this.scheduler.queued,
      fetchesStarted: this.scheduler.started,
      fetchesFailed: this.scheduler.failed,
      busMessagesReceived: this.#bus.received,
      busMessagesPublished: this.#bus.published,
      publishesBuffered: this.#bus.buffered,
    };
  }

  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    for (const connection of [...this.#connections]) connection.close(CloseCode.GoingAway, 'server shutting down');
    await this.scheduler.drain(this.options.closeTimeoutMs);
    await this.#bus.close().catch((cause: unknown) => this.report(EntitySyncError.from(cause), {}));
  }

  // Hub -----------------------------------------------------------------------------------

  entity(name: string): ResolvedEntity | undefined {
    return this.#entities.get(name);
  }

  subject(key: EntityKey): string {
    return keySubject(this.options.prefix, key);
  }

  forget(connection: Connection): void {
    this.#connections.delete(connection);
  }

  report(error: EntitySyncError, ctx: ErrorContext): void {
    const { logger, onError } = this.options;
    try {
      logger?.({ level: 'error', msg: error.message, err: error, fields: { code: error.code, ...ctx } });
      onError?.(error, ctx);
    } catch {
      // A throwing logger or onError must not take the node down.
    }
  }

  // Fan-out -------------------------------------------------------------------------------

  #changedLocally(key: EntityKey): void {
    const entry = this.index.get(keyString(key));
    if (entry !== undefined) this.#fetchAll(entry);
  }

  #fetchAll(entry: KeyEntry): void {
    for (const group of entry.groups.keys()) this.scheduler.request(entry.keyString, group);
  }

  #resync(): void {
    for (const entry of this.index.entries()) this.#fetchAll(entry);
  }

  #deliver(entry: KeyEntry, group: GroupId, seq: number, result: FetchResult): void {
    if (!result.ok) this.report(result.error, { key: entry.key });
    const members = entry.groups.get(group);
    if (members !== undefined) for (const sub of members) sub.owner.push(sub, seq, result);
  }
}

function checkKey(key: EntityKey): void {
  const valid = typeof key === 'object' && key !== null && typeof key.entity === 'string' && typeof key.id === 'string';
  const problem = valid ? keyProblem(key) : 'a key is an object {entity: string, id: string}';
  if (problem !== undefined) throw new EntitySyncError('INVALID_KEY', `notifyAllOfChange: ${problem}`);
}

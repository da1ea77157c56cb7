import { randomUUID } from 'node:crypto';
import { authorize, authorizeCurrent, type Decision } from './authorize.js';
import { Bus } from './bus.js';
import { Connection } from './connection.js';
import { type EncodedBatch, encodeValues } from './encode.js';
import { EntitySyncError } from './errors.js';
import { FetchCall, representative } from './fetch-context.js';
import { type FetchFailure, FetchScheduler } from './fetch-scheduler.js';
import { type EntityKey, ENTITY_NAME_PATTERN, type KeyString, keyProblem, keyString, keySubject } from './keys.js';
import { MemoryBroker } from './memory-broker.js';
import { type EntitySyncOptions, parseEntity, parseOptions, type ResolvedEntity, type ResolvedOptions } from './options.js';
import { CloseCode, type ErrorFrame, fetchError, forbidden, invalidKeyFrame, type KeyEntry as WireKey } from './protocol.js';
import { type KeyEntry, Registry } from './registry.js';
import { type GroupId, type SnapshotOutcome, type Subscriber, Subscription } from './subscription.js';
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
  return new Node(parseOptions(options));
}

/** What a fetch job is for: one key, one fetch group. */
interface Job {
  keyString: KeyString;
  group: GroupId;
}

/** The values of a fetch, encoded once for every subscriber, or why there are none. */
type FetchResult = EncodedBatch | 'FETCH_FAILED' | 'FETCH_TIMEOUT';

const SENT: SnapshotOutcome = { ok: true };

/**
 * The node (centrifuge's node/hub split): it owns the registry of local subscriptions, adds and
 * removes them in one place (index, bus interest, confirmation timeout and rollback), runs the
 * subscribe and secret-change flows, turns changes into fetches and delivers their values.
 * Connections parse and write frames; the scheduler runs fetches; the bus carries keys.
 */
export class Node implements EntitySync {
  readonly nodeId: string;
  readonly #entities = new Map<string, ResolvedEntity>();
  readonly #connections = new Set<Connection>();
  readonly #registry: Registry;
  readonly #scheduler: FetchScheduler<Job, FetchCall>;
  readonly #bus: Bus;
  #nextClientId = 0;
  #closing: Promise<void> | undefined;

  constructor(readonly options: ResolvedOptions) {
    this.nodeId = options.nodeId ?? randomUUID();
    this.#scheduler = new FetchScheduler<Job, FetchCall>(
      { maxConcurrent: options.maxConcurrentFetches, timeoutMs: options.fetchTimeoutMs },
      {
        start: (job) => this.#startFetch(job),
        done: (job, seq, call, value, failure) => this.#fetched(job, seq, call, value, failure),
      },
    );
    this.#bus = new Bus(options.broker ?? new MemoryBroker(), {
      nodeId: this.nodeId,
      prefix: options.prefix,
      timeoutMs: options.busTimeoutMs,
      maxBuffered: options.maxBufferedPublishes,
      onChange: (key) => this.#changed(keyString(key)),
      onRecovered: () => this.#resync(),
      onControl: () => this.#resync(),
      onError: (error) => this.report(error, {}),
    });
    this.#registry = new Registry(
      () => this.#bus.session,
      (key) => keySubject(options.prefix, key),
    );
  }

  // Public API ----------------------------------------------------------------------------

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
    const connection = new Connection(String(++this.#nextClientId), socket, this, options.protocol, secret);
    if (this.#closing !== undefined) {
      connection.close(CloseCode.GoingAway, 'server shutting down');
      return connection;
    }
    this.#connections.add(connection);
    return connection;
  }

  notifyAllOfChange(keys: EntityKey | readonly EntityKey[]): Promise<void> {
    if (this.#closing !== undefined) return Promise.reject(new EntitySyncError('CLOSED', 'notifyAllOfChange: the bridge is closed'));
    if (!Array.isArray(keys)) return this.#notifyOne(keys as EntityKey);
    const list = keys as readonly EntityKey[];
    for (const key of list) {
      const problem = checkKey(key);
      if (problem !== undefined) return Promise.reject(problem);
    }
    return Promise.all(list.map((key) => this.#publish(key))).then(() => undefined);
  }

  #notifyOne(key: EntityKey): Promise<void> {
    const problem = checkKey(key);
    return problem === undefined ? this.#publish(key) : Promise.reject(problem);
  }

  /** Fetches for this node's subscribers at once, and tells the other nodes. */
  #publish(key: EntityKey): Promise<void> {
    const entry = this.#registry.get(keyString(key));
    if (entry === undefined) return this.#bus.publish(keySubject(this.options.prefix, key), this.#bus.changePayload(key));
    this.#changedEntry(entry);
    entry.payload ??= this.#bus.changePayload(key);
    return this.#bus.publish(entry.subject, entry.payload);
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
      keys: this.#registry.keyCount,
      subscriptions: this.#registry.subscriptionCount,
      busSubscriptions: this.#registry.busSubscriptionCount,
      bus: this.#bus.status,
      fetchesInFlight: this.#scheduler.inFlight,
      fetchesQueued: this.#scheduler.queued,
      fetchesStarted: this.#scheduler.started,
      fetchesFailed: this.#scheduler.failed,
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
    await this.#scheduler.drain(this.options.closeTimeoutMs);
    await this.#bus.close().catch((cause: unknown) => this.report(EntitySyncError.from(cause), {}));
  }

  /** Every background failure and handler error goes here: the logger, then `onError`. */
  report(error: EntitySyncError, ctx: ErrorContext): void {
    const { logger, onError } = this.options;
    try {
      logger?.({ level: 'error', msg: error.message, err: error, fields: { code: error.code, ...ctx } });
      onError?.(error, ctx);
    } catch {
      // A throwing logger or onError must not take the node down.
    }
  }

  // Subscriptions: the one place they are added and removed ---------------------------------

  /** Subscribes `conn` to one key of a subscribe message; resolves with an error frame, or none. */
  subscribe(conn: Subscriber, entry: WireKey): Promise<ErrorFrame | undefined> | ErrorFrame | undefined {
    if (!entry.ok) return invalidKeyFrame(entry);
    const { key } = entry;
    const entity = this.#entities.get(key.entity);
    if (entity === undefined) return { code: 'UNKNOWN_ENTITY', message: `no entity type "${key.entity}" is registered`, ...key };
    const ks = keyString(key);
    const existing = conn.subscriptions.get(ks);
    if (existing !== undefined) return this.#resubscribe(conn, existing);
    const max = this.options.maxSubscriptionsPerConnection;
    if (conn.subscriptions.size >= max)
      return { code: 'TOO_MANY_SUBSCRIPTIONS', message: `at most ${max} subscriptions per connection`, ...key };
    return this.#subscribe(conn, new Subscription(key, ks, entity, conn));
  }

  /**
   * validate -> authorize (with the connection's current secret) and the bus confirmation, in
   * parallel -> ask again if the secret changed meanwhile -> fetch -> snapshot (v1) -> ack.
   */
  async #subscribe(conn: Subscriber, sub: Subscription): Promise<ErrorFrame | undefined> {
    const [first, bus] = await Promise.all([authorize(sub, conn), this.#add(sub)]);
    if (bus !== undefined) return bus; // rolled back
    const decision = await authorizeCurrent(sub, conn, first);
    if (sub.removed) return undefined;
    if (decision instanceof Error) {
      this.remove(sub);
      return this.#hookFailed(conn, sub, decision);
    }
    if (!decision.allowed) {
      sub.forbid(); // a second subscribe of the key may be waiting too
      return forbidden(sub.key);
    }
    sub.allow(decision.generation, this.#scheduler.seq);
    return conn.protocol === 'v1' ? this.#snapshot(sub) : undefined;
  }

  #resubscribe(conn: Subscriber, sub: Subscription): Promise<ErrorFrame | undefined> | undefined {
    if (conn.protocol === 'legacy') return undefined;
    if (sub.state === 'forbidden') return Promise.resolve(forbidden(sub.key));
    return this.#snapshot(sub);
  }

  /** Fetches for `sub` and waits until the value (or why there is none) was sent. */
  async #snapshot(sub: Subscription): Promise<ErrorFrame | undefined> {
    const next = sub.next();
    if (sub.state === 'active') this.#fetch(sub.keyString, sub.group);
    const outcome = await next;
    if (outcome.ok) return undefined;
    return outcome.code === 'FORBIDDEN' ? forbidden(sub.key) : fetchError(sub.key, outcome.code);
  }

  /**
   * Registers `sub` and holds its key's bus subscription. Settles when the broker confirmed it
   * (at once when it had), or, after removing `sub` again, with why it could not.
   */
  #add(sub: Subscription): ErrorFrame | undefined | Promise<ErrorFrame | undefined> {
    sub.owner.subscriptions.set(sub.keyString, sub);
    const confirmed = this.#registry.add(sub);
    if (confirmed === undefined) return undefined;
    return new Promise((resolve) => {
      const fail = (message: string): void => {
        const unsubscribed = sub.removed;
        this.remove(sub);
        resolve(unsubscribed ? undefined : { code: 'UNAVAILABLE', message, ...sub.key });
      };
      const timer = setTimeout(() => fail('the bus did not confirm the subscription in time'), this.options.busTimeoutMs);
      confirmed.then(
        () => {
          clearTimeout(timer);
          resolve(undefined);
        },
        (cause: unknown) => {
          clearTimeout(timer);
          this.report(new EntitySyncError('UNAVAILABLE', 'bus subscribe failed', { cause }), { clientId: sub.owner.id, key: sub.key });
          fail('the bus could not confirm the subscription');
        },
      );
    });
  }

  /** Unsubscribes `conn` from one key of an unsubscribe message (a key not held is a no-op). */
  unsubscribe(conn: Subscriber, entry: WireKey): ErrorFrame | undefined {
    if (!entry.ok) return invalidKeyFrame(entry);
    const sub = conn.subscriptions.get(keyString(entry.key));
    if (sub !== undefined) this.remove(sub);
    return undefined;
  }

  /** Unsubscribed or disconnected: out of the connection, the registry and (last one) the bus. */
  remove(sub: Subscription): void {
    if (sub.removed) return;
    sub.remove();
    sub.owner.subscriptions.delete(sub.keyString);
    this.#registry.remove(sub);
  }

  /** The connection is gone. */
  disconnected(conn: Connection): void {
    for (const sub of [...conn.subscriptions.values()]) this.remove(sub);
    this.#connections.delete(conn);
  }

  /**
   * `conn` has a new secret (its generation moved, so every grant lapsed at once): fetches
   * started before are void, keys move to their new fetch groups and are authorized again.
   */
  secretChanged(conn: Subscriber): void {
    const seq = this.#scheduler.seq;
    for (const sub of conn.subscriptions.values()) {
      this.#registry.regroup(sub);
      const run = sub.secretChanged(seq);
      if (sub.state !== 'pending') void this.#reauthorize(conn, sub, run); // a pending subscribe asks again itself
    }
  }

  async #reauthorize(conn: Subscriber, sub: Subscription, run: number): Promise<void> {
    const pending = authorize(sub, conn);
    const decision = pending instanceof Promise ? await pending : pending;
    if (!sub.isLatestRun(run)) return;
    if (decision instanceof Error) {
      this.remove(sub);
      conn.sendError(this.#hookFailed(conn, sub, decision));
      return;
    }
    this.#settleReauthorization(conn, sub, decision);
  }

  #settleReauthorization(conn: Subscriber, sub: Subscription, decision: Decision): void {
    if (!decision.allowed) {
      if (!sub.forbid()) conn.sendError(forbidden(sub.key));
      return;
    }
    sub.allow(decision.generation);
    if (conn.protocol === 'v1') this.#fetch(sub.keyString, sub.group);
  }

  #hookFailed(conn: Subscriber, sub: Subscription, cause: Error): ErrorFrame {
    this.report(new EntitySyncError('INTERNAL', `authorize for ${sub.keyString} threw`, { cause }), { clientId: conn.id, key: sub.key });
    return { code: 'INTERNAL', message: 'internal error', ...sub.key };
  }

  // Fan-out --------------------------------------------------------------------------------

  /** `keyString` changed: fetch once per group of its local subscribers. */
  #changed(keyString: KeyString): void {
    const entry = this.#registry.get(keyString);
    if (entry !== undefined) this.#changedEntry(entry);
  }

  #changedEntry(entry: KeyEntry): void {
    for (const group of entry.groups.keys()) this.#fetch(entry.keyString, group);
  }

  #resync(): void {
    for (const entry of this.#registry.entries()) this.#changedEntry(entry);
  }

  #fetch(keyString: KeyString, group: GroupId): void {
    this.#scheduler.request(`${group.length}:${group}${keyString}`, { keyString, group });
  }

  /** A fetch starts: with the secret of the group's first active member, if it still has one. */
  #startFetch(job: Job): FetchCall | undefined {
    const entry = this.#registry.get(job.keyString);
    const members = entry?.groups.get(job.group);
    const rep = members === undefined ? undefined : representative(members);
    return rep === undefined ? undefined : new FetchCall(entry!.entity, entry!.key, rep);
  }

  #fetched(job: Job, seq: number, call: FetchCall, value: unknown, failure: FetchFailure | undefined): void {
    const entry = this.#registry.get(job.keyString);
    if (entry === undefined) return;
    const result = this.#encode(entry, call, value, failure);
    const members = entry.groups.get(job.group);
    if (members !== undefined) for (const sub of members) this.#push(sub, seq, result);
  }

  /** The values of a fetch (those sent through `ctx.send`, then the returned one), encoded once. */
  #encode(entry: KeyEntry, call: FetchCall, value: unknown, failure: FetchFailure | undefined): FetchResult {
    if (failure !== undefined) return this.#failed(entry, failure.code, failure.cause);
    if (value !== undefined) call.values.push(value);
    try {
      return encodeValues(entry.framePrefix, call.values);
    } catch (cause) {
      return this.#failed(entry, 'FETCH_FAILED', cause);
    }
  }

  #failed(entry: KeyEntry, code: 'FETCH_FAILED' | 'FETCH_TIMEOUT', cause: unknown): FetchResult {
    const message = code === 'FETCH_TIMEOUT' ? `fetch of ${entry.keyString} timed out` : `fetch of ${entry.keyString} failed`;
    this.report(new EntitySyncError(code, message, cause === undefined ? undefined : { cause }), { key: entry.key });
    return code;
  }

  /** Delivers fetch `seq`'s result to `sub`, if it may receive it (the one rule, in `mayReceive`). */
  #push(sub: Subscription, seq: number, result: FetchResult): void {
    if (!sub.mayReceive(seq)) return;
    sub.received(seq);
    const conn = sub.owner;
    if (typeof result !== 'string') {
      conn.sendValues(sub, result);
      sub.settle(SENT);
    } else if (!sub.settle({ ok: false, code: result })) {
      conn.sendError(fetchError(sub.key, result));
    }
  }
}

function checkKey(key: EntityKey): EntitySyncError | undefined {
  const valid = typeof key === 'object' && key !== null && typeof key.entity === 'string' && typeof key.id === 'string';
  const problem = valid ? keyProblem(key) : 'a key is an object {entity: string, id: string}';
  return problem === undefined ? undefined : new EntitySyncError('INVALID_KEY', `notifyAllOfChange: ${problem}`);
}

import { randomUUID } from 'node:crypto';
import { authorize, authorizeCurrent, type Decision } from './authorize.js';
import { type AccessFilter, filterProblem, matches, toWireFilter } from './access.js';
import { Bus, type ControlMessage } from './bus.js';
import { Events, type NodeEventListener, type NodeEventName } from './events.js';
import { Connection } from './connection.js';
import { DeltaCache } from './delta-cache.js';
import { type EncodedBatch, encodeValues } from './encode.js';
import { EntitySyncError } from './errors.js';
import { FetchCall, representative } from './fetch-context.js';
import { type FetchFailure, FetchScheduler } from './fetch-scheduler.js';
import { type EntityKey, ENTITY_NAME_PATTERN, type KeyString, keyString, keySubject, type Params, type Tag, tagSubject } from './keys.js';
import { MemoryBroker } from './memory-broker.js';
import { type EntitySyncOptions, parseEntity, parseOptions, type ResolvedEntity, type ResolvedOptions } from './options.js';
import { validate } from './standard-schema.js';
import { CloseCode, type ErrorFrame, fetchError, forbidden, invalidKeyFrame, type KeyEntry as WireKey } from './protocol.js';
import { type KeyEntry, Registry, type Topic } from './registry.js';
import { type Cached, ValueCache } from './value-cache.js';
import type { ChangeTargetOf, DefinitionOf, EntityMap, EntityNameOf, SubscribeTargetOf, ValueListenerOf, ValueOf } from './entity-map.js';
import { type ChangeTarget, toTarget } from './targets.js';
import { audienceOf, shape, shapes } from './view.js';
import { type ServerSubscribeOptions, ServerSubscriber, type ValueListener } from './server-subscriber.js';
import { type GroupId, type SnapshotOutcome, type Subscriber, Subscription } from './subscription.js';
import type { AcceptOptions, ConnectionHandle, EntityDefinition, ErrorContext, SocketLike, SyncStats, User } from './types.js';

/**
 * A node of entity-sync: what `createEntitySync` returns. `E`, an entity map, types entity names,
 * keys and values (see `EntityMap`); without one, any name is accepted and values are `unknown`.
 * The bare `EntitySync` (what transports and adapters take) accepts a node of any map.
 */
// biome-ignore lint/suspicious/noExplicitAny: the default lets a typed node pass where `EntitySync` is expected (E appears in parameter position, so a concrete default would make it invariant); `any` selects the untyped signatures
export interface EntitySync<E extends EntityMap = any> {
  /** This node's id on the bus. */
  readonly nodeId: string;
  /**
   * Registers the fetch handler (and optionally `authorize` and `scope`) of an entity type.
   * Throws `INVALID_OPTIONS` on a bad name or definition, or if the name is taken.
   */
  registerEntity<N extends EntityNameOf<E>, P = never, F = ValueOf<E[N]>>(name: N, definition: DefinitionOf<E, N, P, F>): this;
  /**
   * Server code follows a key (or query key) with the same fetch, scope, authorization and
   * convergence rules as a WebSocket client with `options.secret` / `options.user`: `listener`
   * gets the current value, then every change. Or it follows a tag: `listener` is called on each
   * change of it. Resolves, once subscribed, with the function that stops it; rejects with the
   * error a client would get (`UNKNOWN_ENTITY`, `INVALID_KEY`, `FORBIDDEN`, `UNAVAILABLE`).
   */
  subscribe<N extends EntityNameOf<E>>(
    target: SubscribeTargetOf<E, N>,
    listener: ValueListenerOf<E, N>,
    options?: ServerSubscribeOptions,
  ): Promise<() => void>;
  subscribe(target: Tag, listener: (tag: Tag) => void): Promise<() => void>;
  /**
   * Takes over one client socket. Transports (`@entity-sync/ws`) call this. `secret` is the
   * connection's initial secret (e.g. from `authenticate(req)`), `''` when absent.
   */
  accept(socket: SocketLike, options: AcceptOptions, secret?: string): ConnectionHandle;
  /**
   * Tells every node that a key changed, or a tag (`{ tag }`: every value whose latest fetch
   * declared `ctx.dependsOn({ tag })` is fetched again), or each of a list. A query key may be
   * named by its params (`{ entity, params }`). This node's own subscribers are fetched for at
   * once; other nodes hear it through the broker. Resolves when the broker
   * accepted the message; rejects with `PUBLISH_FAILED` if it cannot within `busTimeoutMs`.
   * Entity types need not be registered on the notifying node.
   */
  notifyAllOfChange(targets: ChangeTargetOf<E> | readonly ChangeTargetOf<E>[], options?: NotifyOptions): Promise<void>;
  /**
   * Observes the node (metrics, logs): `connection`, `bus`, `resync`, `fetch`, `fetchFailed`,
   * `freshness`. Returns the function that stops listening. See `NodeEvents`.
   */
  on<K extends NodeEventName>(event: K, listener: NodeEventListener<K>): () => void;
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
  /**
   * Runs `identify` and `authorize` again, on every node, for the connections matching `filter`
   * (`{ secret }`, `{ userId }` or `{ all: true }`), as after a secret change: keys that became
   * forbidden get `FORBIDDEN` and no further data, and nothing fetched before the call reaches
   * them. Resolves when the broker accepted it (this node has applied it by then).
   */
  reauthorize(filter: AccessFilter): Promise<void>;
  /** Closes the connections matching `filter` on every node, with 4401 (default) or 4403. */
  revoke(filter: AccessFilter, options?: { code?: 4401 | 4403 }): Promise<void>;
  /**
   * Starts draining (a deploy): new connections are refused (the transport answers 503, or the
   * node closes them with 1012), and open ones are closed with 1012 spread evenly over `drainMs`,
   * so they reconnect to other nodes at a smooth rate. The node keeps serving the others until
   * their turn. Resolves when every connection is closed. @default drainMs 10000
   */
  drain(options?: { drainMs?: number }): Promise<void>;
  /** Whether the node is draining or closing (transports refuse new connections). */
  readonly draining: boolean;
  stats(): SyncStats;
  /**
   * Closes every connection with 1001 (clients reconnect elsewhere), waits up to
   * `closeTimeoutMs` for in-flight fetches, and drops the bus subscriptions. Idempotent. With
   * `drainMs`, drains first (see {@link drain}).
   */
  close(options?: { drainMs?: number }): Promise<void>;
}

/** Options of `notifyAllOfChange`. */
export interface NotifyOptions {
  /**
   * When the change happened, in ms since the epoch (a change source passes the commit time), for
   * the `freshness` event. @default now
   */
  changedAt?: number;
}

/**
 * Creates a node, typed by the entity map `E` when given (`createEntitySync<Entities>()`).
 * Throws `INVALID_OPTIONS` with a readable message on bad options.
 */
export function createEntitySync<E extends EntityMap = EntityMap>(options: EntitySyncOptions = {}): EntitySync<E> {
  return new Node(parseOptions(options)) as EntitySync as EntitySync<E>;
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
  readonly #cache: ValueCache;
  readonly #events = new Events((error) => this.report(EntitySyncError.from(error), {}));
  /** While someone listens to `freshness`: the earliest undelivered change time of each fetch job. */
  readonly #changedAt = new Map<string, number>();
  /** Counters for `stats()`. */
  readonly counters = { encodings: 0, framesSent: 0, bytesSent: 0, conflated: 0, deltasComputed: 0, deltaFramesSent: 0 };
  /** The base of each (key, group)'s next delta, when the `deltas` option is on. */
  readonly #deltas: DeltaCache | undefined;
  /** Server code watching tags (`subscribe({ tag })`), by subject. */
  readonly #watchers = new Map<string, Set<() => void>>();
  #nextClientId = 0;
  #closing: Promise<void> | undefined;
  #draining: Promise<void> | undefined;
  /** Set when the node really closes: after the drain window of `close({ drainMs })`. */
  #closed = false;

  constructor(readonly options: ResolvedOptions) {
    this.nodeId = options.nodeId ?? randomUUID();
    this.#deltas = options.deltas === false ? undefined : new DeltaCache(options.deltas, this.counters);
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
      onChange: (key, subject, at) => this.#changed(keyString(key), subject, at),
      onTag: (subject, at) => this.#topicChanged(this.#registry.notified(subject, this.#scheduler.seq), at),
      onStatus: (status) => {
        if (status === 'down') this.#cache.clear(); // changes may be missed from now on
        this.#events.emit('bus', { status });
      },
      onRecovered: () => this.#resync('bus'),
      onControl: (message) => this.#control(message),
      onError: (error) => this.report(error, {}),
    });
    this.#cache = new ValueCache(options.resumeCacheMs, options.resumeCacheSize);
    this.#registry = new Registry(
      () => this.#bus.session,
      (key) => keySubject(options.prefix, key),
      {
        seq: () => this.#scheduler.seq,
        lingerMs: options.resumeCacheMs,
        forgotten: (topic) => topic.keyString !== undefined && this.#cache.invalidate(topic.keyString),
      },
    );
  }

  // Public API ----------------------------------------------------------------------------

  registerEntity<P = never>(name: string, definition: EntityDefinition<P>): this {
    if (typeof name !== 'string' || !ENTITY_NAME_PATTERN.test(name)) {
      throw new EntitySyncError('INVALID_OPTIONS', `registerEntity: name must match ${ENTITY_NAME_PATTERN}, got ${JSON.stringify(name)}`);
    }
    if (this.#entities.has(name)) {
      throw new EntitySyncError('INVALID_OPTIONS', `registerEntity: "${name}" is already registered`);
    }
    this.#entities.set(name, parseEntity(name, definition, this.options.identify !== undefined));
    return this;
  }

  accept(socket: SocketLike, options: AcceptOptions, secret = ''): ConnectionHandle {
    const connection = new Connection(String(++this.#nextClientId), socket, this, options.protocol, secret, options.expiresAt);
    if (this.#closed) {
      connection.close(CloseCode.GoingAway, 'server shutting down');
      return connection;
    }
    if (this.draining) {
      connection.close(CloseCode.ServiceRestart, 'server draining: reconnect elsewhere');
      return connection;
    }
    this.#connections.add(connection);
    this.#events.emit('connection', { type: 'opened', clientId: connection.id, protocol: connection.protocol });
    this.identify(connection);
    return connection;
  }

  notifyAllOfChange(targets: ChangeTarget | readonly ChangeTarget[], options?: NotifyOptions): Promise<void> {
    if (this.#closed) return Promise.reject(new EntitySyncError('CLOSED', 'notifyAllOfChange: the bridge is closed'));
    const at = options?.changedAt ?? Date.now();
    if (!Array.isArray(targets)) return this.#notifyOne(targets as ChangeTarget, at);
    const list = (targets as readonly ChangeTarget[]).map(toTarget);
    const invalid = list.find((target) => target instanceof EntitySyncError);
    if (invalid !== undefined) return Promise.reject(invalid);
    return Promise.all((list as Array<EntityKey | Tag>).map((target) => this.#publish(target, at))).then(() => undefined);
  }

  #notifyOne(target: ChangeTarget, at: number): Promise<void> {
    const checked = toTarget(target);
    return checked instanceof EntitySyncError ? Promise.reject(checked) : this.#publish(checked, at);
  }

  /** Fetches for this node's subscribers (and dependents) at once, and tells the other nodes. */
  #publish(target: EntityKey | Tag, at: number): Promise<void> {
    const { prefix } = this.options;
    if ('tag' in target) {
      const subject = tagSubject(prefix, target.tag);
      this.#topicChanged(this.#registry.notified(subject, this.#scheduler.seq), at);
      return this.#bus.publish(subject, Bus.tagFields(target.tag), at);
    }
    const ks = keyString(target);
    const entry = this.#registry.get(ks);
    if (entry === undefined) {
      this.#cache.invalidate(ks);
      const subject = keySubject(prefix, target);
      this.#topicChanged(this.#registry.notified(subject, this.#scheduler.seq), at);
      return this.#bus.publish(subject, Bus.keyFields(target), at);
    }
    this.#changedEntry(entry, at);
    entry.fields ??= Bus.keyFields(target);
    return this.#bus.publish(entry.topic.subject, entry.fields, at);
  }

  on<K extends NodeEventName>(event: K, listener: NodeEventListener<K>): () => void {
    return this.#events.on(event, listener);
  }

  subscribe(
    target: ChangeTarget,
    listener: ValueListener | ((tag: Tag) => void),
    options: ServerSubscribeOptions = {},
  ): Promise<() => void> {
    if (this.#closed) return Promise.reject(new EntitySyncError('CLOSED', 'subscribe: the bridge is closed'));
    const checked = toTarget(target);
    if (checked instanceof EntitySyncError) return Promise.reject(checked);
    if ('tag' in checked) return this.#watchTag(checked, listener as (tag: Tag) => void);
    return this.#subscribeServer(checked, listener as ValueListener, options);
  }

  async #subscribeServer(key: EntityKey, listener: ValueListener, options: ServerSubscribeOptions): Promise<() => void> {
    const { secret = '', onError } = options;
    let user = options.user;
    if (user === undefined) {
      try {
        user = (await this.options.identify?.(secret)) ?? null;
      } catch (cause) {
        throw new EntitySyncError('IDENTIFY_FAILED', 'subscribe: identify threw for the secret', { cause });
      }
    }
    const subscriber = new ServerSubscriber(`server:${++this.#nextClientId}`, secret, user, listener, onError, (error, key) =>
      this.report(error, { key }),
    );
    const error = await this.subscribeEntry(subscriber, { ok: true, key });
    if (error !== undefined) {
      for (const sub of [...subscriber.subscriptions.values()]) this.remove(sub);
      throw new EntitySyncError(error.code, `subscribe: ${error.message}`);
    }
    return () => {
      for (const sub of [...subscriber.subscriptions.values()]) this.remove(sub);
    };
  }

  async #watchTag(tag: Tag, listener: (tag: Tag) => void): Promise<() => void> {
    const subject = tagSubject(this.options.prefix, tag.tag);
    const watcher = (): void => {
      try {
        listener(tag);
      } catch (cause) {
        this.report(EntitySyncError.from(cause), {});
      }
    };
    let watchers = this.#watchers.get(subject);
    if (watchers === undefined) this.#watchers.set(subject, (watchers = new Set()));
    watchers.add(watcher);
    const stop = (): void => {
      if (!watchers.delete(watcher)) return;
      if (watchers.size === 0) this.#watchers.delete(subject);
      this.#registry.unwatch(subject);
    };
    try {
      await this.#registry.watch(subject);
    } catch (cause) {
      stop();
      throw new EntitySyncError('UNAVAILABLE', 'subscribe: the bus could not confirm the subscription', { cause });
    }
    return stop;
  }

  async resyncAll(): Promise<void> {
    if (this.#closed) throw new EntitySyncError('CLOSED', 'resyncAll: the bridge is closed');
    this.#resync('local');
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
      dependencies: this.#registry.dependencyCount,
      bus: this.#bus.status,
      fetchesInFlight: this.#scheduler.inFlight,
      fetchesQueued: this.#scheduler.queued,
      fetchesStarted: this.#scheduler.started,
      fetchesFailed: this.#scheduler.failed,
      fetchesCoalesced: this.#scheduler.coalesced,
      ...this.counters,
      busMessagesReceived: this.#bus.received,
      busMessagesPublished: this.#bus.published,
      publishesBuffered: this.#bus.buffered,
    };
  }

  get draining(): boolean {
    return this.#draining !== undefined || this.#closing !== undefined;
  }

  drain(options: { drainMs?: number } = {}): Promise<void> {
    const problem = drainProblem(options);
    if (problem !== undefined) return Promise.reject(new EntitySyncError('INVALID_OPTIONS', `drain: ${problem}`));
    this.#draining ??= this.#drain(options?.drainMs ?? 10_000);
    return this.#draining;
  }

  /** Closes the connections open now with 1012, one after the other, spread over `drainMs`. */
  async #drain(drainMs: number): Promise<void> {
    const connections = [...this.#connections];
    const step = connections.length > 0 ? drainMs / connections.length : 0;
    const started = Date.now();
    for (const [i, connection] of connections.entries()) {
      const wait = started + i * step - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      connection.close(CloseCode.ServiceRestart, 'server draining: reconnect elsewhere');
    }
  }

  close(options: { drainMs?: number } = {}): Promise<void> {
    const problem = drainProblem(options);
    if (problem !== undefined) return Promise.reject(new EntitySyncError('INVALID_OPTIONS', `close: ${problem}`));
    // The node serves on while it drains; without drainMs it closes now.
    this.#closing ??= options?.drainMs === undefined ? this.#close() : this.drain(options).then(() => this.#close());
    return this.#closing;
  }

  reauthorize(filter: AccessFilter): Promise<void> {
    return this.#access('reauthorize', filter, undefined);
  }

  revoke(filter: AccessFilter, options: { code?: 4401 | 4403 } = {}): Promise<void> {
    const code = options?.code ?? CloseCode.Unauthorized;
    if (code !== CloseCode.Unauthorized && code !== CloseCode.Forbidden) {
      return Promise.reject(new EntitySyncError('INVALID_OPTIONS', `revoke: code must be 4401 or 4403, got ${JSON.stringify(code)}`));
    }
    return this.#access('revoke', filter, code);
  }

  /** Applies a reauthorize or revoke here at once, then on every other node through the bus. */
  async #access(op: 'reauthorize' | 'revoke', filter: AccessFilter, code: number | undefined): Promise<void> {
    const problem = filterProblem(filter);
    if (problem !== undefined) throw new EntitySyncError('INVALID_OPTIONS', `${op}: ${problem}`);
    if (this.#closed) throw new EntitySyncError('CLOSED', `${op}: the bridge is closed`);
    const wire = toWireFilter(filter);
    const message: ControlMessage = op === 'revoke' ? { op, filter: wire, code: code! } : { op, filter: wire };
    this.#control(message);
    await this.#bus.publishControl(message);
  }

  /** A cluster-wide request (from this node or another). */
  #control(message: ControlMessage): void {
    if (message.op === 'resync') {
      this.#resync('control');
      return;
    }
    for (const conn of [...this.#connections]) {
      if (!matches(message.filter, conn.secret, conn.user?.id)) continue;
      if (message.op === 'revoke') conn.close(message.code, 'access revoked');
      else conn.renew();
    }
  }

  /**
   * `conn`'s secret expired: every grant lapses (nothing more is sent) until a new secret comes;
   * keys are not authorized again before that.
   */
  secretExpired(conn: Connection): void {
    const seq = this.#scheduler.seq;
    for (const sub of conn.subscriptions.values()) sub.secretChanged(seq, true);
  }

  async #close(): Promise<void> {
    this.#closed = true;
    for (const connection of [...this.#connections]) connection.close(CloseCode.GoingAway, 'server shutting down');
    await this.#scheduler.drain(this.options.closeTimeoutMs);
    this.#registry.stopLingering();
    this.#cache.clear();
    await this.#bus.close().catch((cause: unknown) => this.report(EntitySyncError.from(cause), {}));
  }

  /**
   * Every background failure and handler error goes here: the logger, then `onError`. With
   * neither, each (code, entity) is reported once on stderr (`process.emitWarning`), so a broken
   * fetch handler is never silent.
   */
  report(error: EntitySyncError, ctx: ErrorContext): void {
    const { logger, onError } = this.options;
    try {
      logger?.({ level: 'error', msg: error.message, err: error, fields: { code: error.code, ...ctx } });
      onError?.(error, ctx);
      if (logger === undefined && onError === undefined) this.#warnOnce(error, ctx);
    } catch {
      // A throwing logger or onError must not take the node down.
    }
  }

  readonly #warned = new Set<string>();

  #warnOnce(error: EntitySyncError, ctx: ErrorContext): void {
    const id = `${error.code}:${ctx.key?.entity ?? ''}`;
    if (this.#warned.has(id)) return;
    this.#warned.add(id);
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    process.emitWarning(
      `${error.message}${cause} (further ${error.code} errors${ctx.key ? ` of "${ctx.key.entity}"` : ''} are not shown; pass onError or logger)`,
      'EntitySyncWarning',
    );
  }

  // Subscriptions: the one place they are added and removed ---------------------------------

  /** Subscribes `conn` to one key of a subscribe message; resolves with an error frame, or none. */
  subscribeEntry(conn: Subscriber, entry: WireKey): Promise<ErrorFrame | undefined> | ErrorFrame | undefined {
    if (!entry.ok) return invalidKeyFrame(entry);
    const { key } = entry;
    const entity = this.#entities.get(key.entity);
    if (entity === undefined) return { code: 'UNKNOWN_ENTITY', message: `no entity type "${key.entity}" is registered`, ...wireKey(key) };
    if ((entity.params === undefined) !== (key.params === undefined)) {
      const message =
        entity.params === undefined ? `"${key.entity}" takes an id, not params` : `"${key.entity}" is a query: it takes params`;
      return { code: 'INVALID_KEY', message, ...wireKey(key) };
    }
    if (entity.params !== undefined) return this.#subscribeQuery(conn, key, entity, entry.fp);
    return this.#subscribeKey(conn, key, entity, entry.fp);
  }

  /** A query key: its params are validated by the entity's schema first (they may be async). */
  async #subscribeQuery(conn: Subscriber, key: EntityKey, entity: ResolvedEntity, fp: number | undefined): Promise<ErrorFrame | undefined> {
    const checked = await validate(entity.params!, key.params);
    if (!checked.ok) return { code: 'INVALID_KEY', message: checked.message, ...wireKey(key) };
    return this.#subscribeKey(conn, { entity: key.entity, id: key.id, params: checked.value as Params }, entity, fp);
  }

  #subscribeKey(
    conn: Subscriber,
    key: EntityKey,
    entity: ResolvedEntity,
    fp: number | undefined,
  ): Promise<ErrorFrame | undefined> | ErrorFrame | undefined {
    const ks = keyString(key);
    const existing = conn.subscriptions.get(ks);
    if (existing !== undefined) {
      if (fp !== undefined && conn.protocol === 'v1') existing.seed(fp); // what the client holds now (a delta it could not apply)
      return this.#resubscribe(conn, existing);
    }
    const max = this.options.maxSubscriptionsPerConnection;
    if (conn.subscriptions.size >= max) {
      return { code: 'TOO_MANY_SUBSCRIPTIONS', message: `at most ${max} subscriptions per connection`, ...wireKey(key) };
    }
    const sub = new Subscription(key, ks, entity, conn);
    if (fp !== undefined && conn.protocol === 'v1') sub.seed(fp); // a resume: an unchanged value costs no body
    return this.#subscribe(conn, sub);
  }

  /**
   * validate -> authorize (with the connection's current secret) and the bus confirmation, in
   * parallel -> ask again if the secret changed meanwhile -> fetch -> snapshot (v1) -> ack.
   */
  async #subscribe(conn: Subscriber, sub: Subscription): Promise<ErrorFrame | undefined> {
    if (conn.identity !== undefined) await conn.identity; // scope `user` groups by the user
    const [first, bus] = await Promise.all([authorize(sub, conn), this.#add(sub)]);
    if (bus !== undefined) return bus; // rolled back
    const decision = await authorizeCurrent(sub, conn, first);
    if (sub.removed) return undefined;
    if (conn.expired === true) {
      sub.forbid(); // held: the next secret authorizes it again
      return { code: 'SECRET_EXPIRED', message: 'the secret expired: send a new one', ...wireKey(sub.key) };
    }
    if (decision instanceof Error) {
      this.remove(sub);
      return this.#hookFailed(conn, sub, decision);
    }
    if (!decision.allowed) {
      sub.forbid(); // a second subscribe of the key may be waiting too
      return forbidden(sub.key);
    }
    this.#registry.regroup(sub); // the user may have changed with the secret
    if (conn.protocol === 'legacy') {
      sub.allow(decision.generation, this.#scheduler.seq);
      return undefined;
    }
    const start = this.#snapshotStart(sub);
    sub.allow(decision.generation, start.seq);
    return this.#snapshot(sub, start);
  }

  /**
   * Where a new subscription's snapshot comes from. Every value fetched after the bus confirmed
   * the key, with no change of it seen since, is current: one kept in the cache, or one being
   * fetched right now for other subscribers of the same group (joined instead of fetching again).
   * Else a fetch of its own. `seq`: fetches at or before it are void for the subscription.
   */
  #snapshotStart(sub: Subscription): SnapshotStart {
    const topic = this.#registry.get(sub.keyString)?.topic;
    if (topic === undefined || !topic.subscribed) return { seq: this.#scheduler.seq };
    const cached = this.#cache.get(sub.keyString, sub.group, Date.now());
    if (cached !== undefined && cached.seq > topic.confirmedSeq) return { seq: cached.seq - 1, cached };
    const running = this.#scheduler.runningSeq(jobId(sub.keyString, sub.group));
    if (running !== undefined && running > topic.confirmedSeq) return { seq: running - 1, joined: true };
    return { seq: this.#scheduler.seq };
  }

  #resubscribe(conn: Subscriber, sub: Subscription): Promise<ErrorFrame | undefined> | undefined {
    if (conn.protocol === 'legacy') return undefined;
    if (sub.state === 'forbidden') return Promise.resolve(forbidden(sub.key));
    return this.#snapshot(sub, { seq: 0 });
  }

  /** Fetches for `sub` (or takes the start's value) and waits until it (or why none) was sent. */
  async #snapshot(sub: Subscription, start: SnapshotStart): Promise<ErrorFrame | undefined> {
    const next = sub.next();
    if (start.cached !== undefined) {
      const { cached } = start;
      this.#push(sub, cached.seq, cached.batch ?? this.#encodeFor(this.#registry.get(sub.keyString)!, cached.values, sub.owner));
    } else if (start.joined !== true && sub.state === 'active') {
      this.#fetch(sub.keyString, sub.group);
    }
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
        resolve(unsubscribed ? undefined : { code: 'UNAVAILABLE', message, ...wireKey(sub.key) });
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

  /** The connection is gone (with the close code, when the transport knows it). */
  disconnected(conn: Connection, code: number | undefined): void {
    for (const sub of [...conn.subscriptions.values()]) this.remove(sub);
    this.#connections.delete(conn);
    if (this.#events.has('connection')) {
      this.#events.emit('connection', {
        type: 'closed',
        clientId: conn.id,
        protocol: conn.protocol,
        ...(code === undefined ? {} : { code }),
      });
    }
  }

  /**
   * `conn` has a new secret (its generation moved, so every grant lapsed at once): it is
   * identified again, fetches started before are void, keys move to their new fetch groups and
   * are authorized again (after `identify` answered).
   */
  secretChanged(conn: Connection): void {
    this.identify(conn);
    const seq = this.#scheduler.seq;
    const hold = conn.identity !== undefined;
    for (const sub of conn.subscriptions.values()) {
      this.#registry.regroup(sub);
      const run = sub.secretChanged(seq, hold);
      if (sub.state !== 'pending') void this.#reauthorize(conn, sub, run); // a pending subscribe asks again itself
    }
  }

  /**
   * Runs `identify` for `conn`'s current secret, if the node has one: `conn.identity` is pending
   * meanwhile. An answer for a secret that was replaced meanwhile is dropped; a throw leaves the
   * connection anonymous and tells it `IDENTIFY_FAILED`.
   */
  identify(conn: Connection): void {
    const identify = this.options.identify;
    if (identify === undefined) return;
    const generation = conn.generation;
    const failed = (cause: unknown): void => {
      if (!conn.identified(generation, null)) return;
      this.report(new EntitySyncError('IDENTIFY_FAILED', 'identify threw', { cause }), { clientId: conn.id });
      conn.sendError({ code: 'IDENTIFY_FAILED', message: 'the secret could not be identified; the connection is anonymous' });
    };
    let answer: User | null | Promise<User | null>;
    try {
      answer = identify(conn.secret);
    } catch (cause) {
      failed(cause);
      return;
    }
    if (!(answer instanceof Promise)) {
      conn.identified(generation, answer ?? null);
      return;
    }
    conn.identifying(
      answer.then(
        (user) => void conn.identified(generation, user ?? null),
        (cause: unknown) => failed(cause),
      ),
    );
  }

  async #reauthorize(conn: Subscriber, sub: Subscription, run: number): Promise<void> {
    const pending = authorize(sub, conn);
    const decision = pending instanceof Promise ? await pending : pending;
    if (!sub.isLatestRun(run) || conn.expired === true) return;
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
    this.#registry.regroup(sub); // the user is known now
    sub.allow(decision.generation);
    if (conn.protocol === 'v1') this.#fetch(sub.keyString, sub.group);
  }

  #hookFailed(conn: Subscriber, sub: Subscription, cause: Error): ErrorFrame {
    this.report(new EntitySyncError('INTERNAL', `authorize for ${sub.keyString} threw`, { cause }), { clientId: conn.id, key: sub.key });
    return { code: 'INTERNAL', message: 'internal error', ...wireKey(sub.key) };
  }

  // Fan-out --------------------------------------------------------------------------------

  /** A key changed (heard on `subject`): its local subscribers and its dependents fetch again. */
  #changed(keyString: KeyString, subject: string, at: number): void {
    const entry = this.#registry.get(keyString);
    if (entry !== undefined) {
      this.#changedEntry(entry, at);
      return;
    }
    this.#cache.invalidate(keyString);
    this.#topicChanged(this.#registry.notified(subject, this.#scheduler.seq), at);
  }

  /** Fetch once per group of the key's local subscribers, and for what depends on the key. */
  #changedEntry(entry: KeyEntry, at: number | undefined): void {
    this.#cache.invalidate(entry.keyString);
    for (const group of entry.groups.keys()) this.#fetch(entry.keyString, group, at);
    const { topic } = entry;
    topic.notifiedAt = this.#scheduler.seq;
    if (topic.dependents.size > 0) this.#topicChanged(topic, at);
  }

  /** A subject changed: fetch again every group whose latest value depends on it. */
  #topicChanged(topic: Topic | undefined, at: number | undefined): void {
    if (topic === undefined) return;
    for (const [entry, groups] of topic.dependents) for (const group of groups) this.#fetch(entry.keyString, group, at);
    for (const watcher of this.#watchers.get(topic.subject) ?? []) watcher();
  }

  #resync(reason: 'bus' | 'control' | 'local'): void {
    this.#events.emit('resync', { reason, keys: this.#registry.keyCount });
    this.#cache.clear();
    for (const entry of this.#registry.entries()) this.#changedEntry(entry, undefined);
  }

  /** Asks for a fetch of `(keyString, group)`; `at` is when the change that asked for it happened. */
  #fetch(keyString: KeyString, group: GroupId, at?: number): void {
    const id = jobId(keyString, group);
    if (at !== undefined && this.#events.has('freshness') && !this.#changedAt.has(id)) this.#changedAt.set(id, at);
    this.#scheduler.request(id, { keyString, group });
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
    if (this.#events.has('fetch')) {
      const ms = performance.now() - call.startedAt;
      this.#events.emit('fetch', {
        entity: call.entityName,
        ms,
        ok: failure === undefined,
        ...(failure === undefined ? {} : { code: failure.code }),
      });
    }
    if (this.#changedAt.size > 0) this.#fresh(job, entry);
    if (entry === undefined) return;
    if (failure !== undefined) {
      this.#deliver(entry, job.group, seq, this.#failed(entry, failure.code, failure.cause));
      return;
    }
    if (value !== undefined) call.values.push(value);
    // A fetch that produced nothing (a forgotten `?? null`) sends "missing", never silence.
    if (call.values.length === 0) call.values.push(null);
    if (call.dependencies.length > 0 || entry.dependencies.size > 0) this.#depend(entry, job.group, call, seq);
    if (shapes(entry.entity)) {
      this.#deliverShaped(entry, job.group, seq, call.values);
      this.#remember(entry, job.group, seq, call.values, undefined);
    } else {
      const result = this.#encode(entry, call.values);
      if (this.#deltas !== undefined && typeof result !== 'string') {
        const members = entry.groups.get(job.group);
        if (members !== undefined) this.#deltas.link(members, result, entry.framePrefix);
      }
      this.#deliver(entry, job.group, seq, result);
      if (typeof result !== 'string') this.#remember(entry, job.group, seq, call.values, result);
    }
  }

  /**
   * Keeps a result for subscribers who come soon (a reconnect storm): only one fetched after the
   * bus confirmed the key and after the last change of it this node saw (a fetch that ran across
   * a notify read the store before that change), and without dependencies on other subjects
   * (their changes would not reach it once nobody subscribes).
   */
  #remember(entry: KeyEntry, group: GroupId, seq: number, values: readonly unknown[], batch: EncodedBatch | undefined): void {
    const { topic } = entry;
    if (!this.#cache.enabled || !topic.subscribed || seq <= topic.confirmedSeq || seq <= topic.notifiedAt || entry.dependencies.has(group))
      return;
    this.#cache.put(entry.keyString, group, { values, batch, seq, at: Date.now() });
  }

  /** The change that asked for this fetch reaches its subscribers now: how long did it take? */
  #fresh(job: Job, entry: KeyEntry | undefined): void {
    const id = jobId(job.keyString, job.group);
    const at = this.#changedAt.get(id);
    if (at === undefined) return;
    this.#changedAt.delete(id);
    const subscribers = entry?.groups.get(job.group)?.size ?? 0;
    if (entry !== undefined && subscribers > 0)
      this.#events.emit('freshness', { entity: entry.key.entity, ms: Date.now() - at, subscribers });
  }

  #deliver(entry: KeyEntry, group: GroupId, seq: number, result: FetchResult): void {
    const members = entry.groups.get(group);
    if (members !== undefined) for (const sub of members) this.#push(sub, seq, result);
  }

  /** A `view` or `redact`: the values as each audience sees them, encoded once per audience. */
  #deliverShaped(entry: KeyEntry, group: GroupId, seq: number, values: readonly unknown[]): void {
    const members = entry.groups.get(group);
    if (members === undefined) return;
    const byAudience = new Map<string, FetchResult>();
    for (const sub of members) {
      if (!sub.mayReceive(seq)) continue;
      const audience = audienceOf(entry.entity, sub.owner);
      let result = byAudience.get(audience);
      if (result === undefined) byAudience.set(audience, (result = this.#encodeFor(entry, values, sub.owner)));
      this.#push(sub, seq, result);
    }
  }

  /** Records what the fetch declared it depends on; fetches again if that made the value stale. */
  #depend(entry: KeyEntry, group: GroupId, call: FetchCall, seq: number): void {
    const { prefix } = this.options;
    const subjects = new Set(call.dependencies.map((d) => ('tag' in d ? tagSubject(prefix, d.tag) : keySubject(prefix, d))));
    const { stale, confirmed } = this.#registry.depend(entry, group, subjects, seq);
    if (stale) this.#fetch(entry.keyString, group);
    confirmed?.then(
      () => this.#fetch(entry.keyString, group),
      (cause: unknown) =>
        this.report(new EntitySyncError('UNAVAILABLE', 'bus subscribe for a dependency failed', { cause }), { key: entry.key }),
    );
  }

  /** The values as `owner`'s audience sees them; a throwing view fails like the fetch. */
  #encodeFor(entry: KeyEntry, values: readonly unknown[], owner: Subscriber): FetchResult {
    try {
      return this.#encode(entry, shape(entry.entity, values, owner));
    } catch (cause) {
      return this.#failed(entry, 'FETCH_FAILED', cause);
    }
  }

  #failed(entry: KeyEntry, code: 'FETCH_FAILED' | 'FETCH_TIMEOUT', cause: unknown): FetchResult {
    const message = code === 'FETCH_TIMEOUT' ? `fetch of ${entry.keyString} timed out` : `fetch of ${entry.keyString} failed`;
    const error = new EntitySyncError(code, message, cause === undefined ? undefined : { cause });
    this.report(error, { key: entry.key });
    this.#events.emit('fetchFailed', { entity: entry.key.entity, code, error });
    return code;
  }

  /** The values of a fetch, encoded once for every subscriber they go to. */
  #encode(entry: KeyEntry, values: readonly unknown[]): FetchResult {
    try {
      this.counters.encodings++;
      return encodeValues(entry.framePrefix, values);
    } catch (cause) {
      return this.#failed(entry, 'FETCH_FAILED', cause);
    }
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

/** Where a new subscription's snapshot comes from (see `Node.#snapshotStart`). */
interface SnapshotStart {
  seq: number;
  cached?: Cached;
  joined?: boolean;
}

/** Why `options` of `drain` or `close` are wrong, or `undefined`. */
function drainProblem(options: { drainMs?: number } | null | undefined): string | undefined {
  const drainMs = options?.drainMs;
  if (drainMs === undefined || (typeof drainMs === 'number' && Number.isFinite(drainMs) && drainMs >= 0)) return undefined;
  return `drainMs must be a non-negative number of ms, got ${JSON.stringify(drainMs)}`;
}

/** One string per (key, group); the group's length first, so no two pairs can share one. */
function jobId(keyString: KeyString, group: GroupId): string {
  return `${group.length}:${group}${keyString}`;
}

/** A key as error frames echo it: entity and id (a query key's id is its canonical params). */
function wireKey(key: EntityKey): { entity: string; id: string } {
  return { entity: key.entity, id: key.id };
}

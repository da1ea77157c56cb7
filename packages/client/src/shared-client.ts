import { type Client, type ClientEvents, createClient } from './client.js';
import { Emitter, rethrowLater } from './emitter.js';
import { ClientError, goesOn } from './errors.js';
import { keyString } from '@entity-sync/protocol';
import { BeaconElection, type Election, type LockManagerLike, LockElection, holdLock } from './shared-election.js';
import { Leader } from './shared-leader.js';
import { type FromLeader, type LeaderOutput, newTabId, type TabId, type TabMessage, type ToLeader } from './shared-protocol.js';
import { Subscription, type Watcher } from './subscriptions.js';
import { toKey } from './key.js';
import type { ClientOptions, ConnectionState, EntityKey, EntityMap, EntityName, KeyOf, Listener, StateDetail, ValueOf } from './types.js';
import { type Source, type WatchOptions, watchKey } from './watch.js';

/** The `BroadcastChannel` surface the shared client uses. */
export interface BroadcastChannelLike {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
  close(): void;
}

/** Options of {@link createSharedClient}: those of `createClient`, plus how tabs find each other. */
export interface SharedClientOptions extends ClientOptions {
  /**
   * Tabs with the same `name` (and origin) share one connection. Give tabs that must not share
   * (another server, another user) different names.
   * @default `entity-sync:${url}` (`entity-sync:` when `url` is a function)
   */
  name?: string;
  /**
   * The Web Locks API used to elect the leader tab and to notice tabs that vanish. `false` uses
   * the heartbeat fallback (what happens by itself where `navigator.locks` is missing, e.g. on
   * plain-HTTP origins other than localhost).
   * @default globalThis.navigator?.locks
   */
  locks?: LockManagerLike | false;
  /**
   * The `BroadcastChannel` class. Without one, `createSharedClient` returns a plain, unshared
   * `createClient` client.
   * @default globalThis.BroadcastChannel
   */
  BroadcastChannel?: new (
    name: string,
  ) => BroadcastChannelLike;
}

/** A client whose connection is shared by every tab of the origin; the API of {@link Client}. */
export interface SharedClient<E extends EntityMap = EntityMap> extends Client<E> {
  /** Whether this tab holds the connection now. */
  readonly isLeader: boolean;
}

/**
 * Creates a client that shares one WebSocket among all tabs of the origin that use the same
 * `name`: one tab (the leader, elected with Web Locks) holds the socket, the others talk to it
 * over a `BroadcastChannel`, and a key subscribed in several tabs is subscribed once on the wire.
 * When the leader tab closes, another takes over and subscribes every key again. The secret is
 * shared too: the latest `secret` option or `setSecret` call of any tab holds for all.
 */
export function createSharedClient<E extends EntityMap = EntityMap>(options: SharedClientOptions): SharedClient<E> {
  const Channel =
    options.BroadcastChannel ?? (globalThis as { BroadcastChannel?: SharedClientOptions['BroadcastChannel'] }).BroadcastChannel;
  if (!Channel) return Object.assign(createClient<E>(options), { isLeader: true });
  if (!options.WebSocket && !(globalThis as { WebSocket?: unknown }).WebSocket) {
    throw new TypeError('No WebSocket: pass `WebSocket` (in Node 20: `import { WebSocket } from "ws"`)');
  }
  return new SharedTabClient<E>(options, Channel);
}

class SharedTabClient<E extends EntityMap> implements SharedClient<E> {
  state: ConnectionState = 'connecting';
  private readonly id = newTabId();
  private readonly name: string;
  private readonly events = new Emitter<ClientEvents>();
  private readonly subs = new Map<string, Subscription>();
  private readonly channel: BroadcastChannelLike;
  private readonly locks: LockManagerLike | undefined;
  private readonly election: Election;
  private leader: Leader | undefined;
  private leaderId: TabId | undefined;
  private term = 0;
  private secret: string | null;
  private started = false;
  private wasOpen = false;
  private releaseTab: () => void = () => {};

  constructor(
    private readonly options: SharedClientOptions,
    Channel: new (name: string) => BroadcastChannelLike,
  ) {
    const { url, locks } = options;
    this.name = options.name ?? `entity-sync:${typeof url === 'string' ? url : ''}`;
    // A `secret` function is the leader's to call (see `Leader`); tabs share strings only.
    this.secret = typeof options.secret === 'string' ? options.secret : null;
    this.locks = locks === false ? undefined : (locks ?? (globalThis as { navigator?: { locks?: LockManagerLike } }).navigator?.locks);
    this.election = this.locks
      ? new LockElection(this.locks, this.name)
      : new BeaconElection(
          () => this.leader !== undefined,
          () => this.post({ t: 'beat', from: this.id, term: this.term }),
        );
    this.channel = new Channel(this.name);
    this.channel.onmessage = (event) => this.onMessage(event.data as TabMessage);
    (globalThis as { addEventListener?: (type: string, listener: () => void) => void }).addEventListener?.('pagehide', this.onPageHide);
    // A tab speaks only once it holds its presence lock, so the leader's watch of that lock
    // is granted only when the tab is really gone.
    if (this.locks) this.releaseTab = holdLock(this.locks, this.tabLock(this.id), () => this.begin());
    else this.begin();
  }

  get isLeader(): boolean {
    return this.leader !== undefined;
  }

  subscribe<N extends EntityName<E>>(
    key: KeyOf<E, N>,
    listener: Listener<ValueOf<E[N]>, N>,
    onError?: (error: ClientError) => void,
  ): () => void {
    const full = toKey(key);
    const k = keyString(full);
    const watcher: Watcher = { listener: listener as Listener<unknown>, onError };
    let sub = this.subs.get(k);
    if (!sub || sub.failed) {
      if (!sub) this.subs.set(k, (sub = new Subscription(full)));
      sub.failed = false;
      this.toLeader({ t: 'sub', from: this.id, key: sub.key });
    } else {
      const joined = sub;
      queueMicrotask(() => joined.catchUp(watcher, this.onThrow) && this.report(joined.error!));
    }
    sub.watchers.add(watcher);
    const owner = sub;
    return () => {
      if (!owner.watchers.delete(watcher) || owner.watchers.size > 0 || this.subs.get(k) !== owner) return;
      this.subs.delete(k);
      this.toLeader({ t: 'unsub', from: this.id, key: owner.key });
    };
  }

  watch<N extends EntityName<E>>(key: KeyOf<E, N>, options: WatchOptions = {}): AsyncIterableIterator<ValueOf<E[N]> | null> {
    return watchKey(this as unknown as Source<ValueOf<E[N]>>, toKey(key), options, (error) => this.report(error));
  }

  setSecret(secret: string | null): void {
    this.secret = secret;
    this.post({ t: 'secret', from: this.id, secret });
    this.leader?.setSecret(secret);
  }

  on<Ev extends keyof ClientEvents>(event: Ev, listener: ClientEvents[Ev]): () => void {
    return this.events.on(event, listener);
  }

  async close(): Promise<void> {
    if (this.state === 'closed') return;
    (globalThis as { removeEventListener?: (type: string, listener: () => void) => void }).removeEventListener?.(
      'pagehide',
      this.onPageHide,
    );
    this.post({ t: 'bye', from: this.id });
    this.election.close();
    this.releaseTab();
    this.channel.close();
    this.setState('closed', {});
    const leader = this.leader;
    this.leader = undefined;
    await leader?.close();
  }

  // --- tabs ------------------------------------------------------------------------------

  private begin(): void {
    if (this.state === 'closed') return;
    this.started = true;
    if (typeof this.options.secret === 'string') this.post({ t: 'secret', from: this.id, secret: this.secret });
    this.post(this.hello());
    this.election.start(() => this.lead());
  }

  /** Becomes the leader: opens the socket, announces itself, and takes on its own keys. */
  private lead(): void {
    if (this.leader || this.state === 'closed') return;
    this.term++;
    this.leaderId = this.id;
    this.leader = new Leader(
      { send: (message) => this.fromLeader(message), locks: this.locks, tabLock: (tab) => this.tabLock(tab) },
      this.id,
      this.options,
      this.secret,
    );
    this.post({ t: 'leader', from: this.id, term: this.term, state: this.leader.state });
    this.leader.handle(this.hello());
    this.follow(this.leader.state, {});
  }

  private onMessage(message: TabMessage): void {
    if (this.state === 'closed' || ('to' in message && message.to !== undefined && message.to !== this.id)) return;
    switch (message.t) {
      case 'leader':
      case 'beat':
        return this.onLeaderHeard(message);
      case 'secret':
        this.secret = message.secret;
        return this.leader?.setSecret(message.secret);
      case 'bye':
        if (message.from === this.leaderId && !this.leader) this.onLeaderLeft();
        return this.leader?.handle(message);
      case 'hello':
        if (this.leader) this.post({ t: 'leader', from: this.id, term: this.term, state: this.leader.state, to: message.from });
        return this.leader?.handle(message);
      case 'sub':
      case 'unsub':
        return this.leader?.handle(message);
      default:
        if (message.from === this.leaderId && !this.leader) this.deliver(message);
    }
  }

  /**
   * A leader spoke. With Web Locks there is only ever one, so its word is taken. Without them
   * two tabs may claim at once: the higher term wins, then the smaller id; the loser steps down.
   */
  private onLeaderHeard(message: Extract<TabMessage, { t: 'leader' | 'beat' }>): void {
    const current = message.from === this.leaderId;
    const better = message.term > this.term || (message.term === this.term && message.from < (this.leaderId ?? '~'));
    if (current || this.locks || better) {
      this.election.alive();
      this.term = Math.max(this.term, message.term);
      if (!current) this.switchTo(message.from);
      if (message.t === 'leader') this.follow(message.state, {});
    } else if (this.leader) {
      this.post({ t: 'leader', from: this.id, term: this.term, state: this.leader.state });
    }
  }

  /** Follows another tab: steps down if leading, and tells the new leader every key held here. */
  private switchTo(leaderId: TabId): void {
    const leader = this.leader;
    this.leader = undefined;
    void leader?.close();
    this.leaderId = leaderId;
    this.post(this.hello());
  }

  private onLeaderLeft(): void {
    this.leaderId = undefined;
    this.follow('reconnecting', {});
    this.election.leaderLeft();
  }

  private hello(): ToLeader {
    const keys: EntityKey[] = [];
    for (const sub of this.subs.values()) if (!sub.failed) keys.push(sub.key);
    return { t: 'hello', from: this.id, keys };
  }

  private toLeader(message: ToLeader): void {
    if (this.leader) this.leader.handle(message);
    else if (this.started) this.post(message);
  }

  /** What the leader sends: to the other tabs over the channel, and to this tab directly. */
  private fromLeader(output: LeaderOutput): void {
    const message = { ...output, from: this.id } as FromLeader;
    this.post(message);
    if (!('to' in message) || message.to === undefined || message.to === this.id) this.deliver(message);
  }

  private deliver(message: FromLeader): void {
    if (message.t === 'state') return this.follow(message.state, message.detail);
    if (message.t === 'err') return this.report(new ClientError(message.code, message.message, message.key));
    if (message.t === 'expired') return void this.events.emit('secretExpired');
    if (message.t !== 'data' && message.t !== 'kerr') return;
    const sub = this.subs.get(keyString(message.key));
    if (!sub) return;
    if (message.t === 'data') return sub.deliver(message.value, message.snapshot, this.onThrow);
    const error = new ClientError(message.code, message.message, sub.key);
    if (!goesOn(error.code)) sub.failed = true;
    if (sub.fail(error, this.onThrow)) this.report(error);
  }

  /** Takes the leader's connection state; a tab that was open sees a new leader's first attempt as `reconnecting`. */
  private follow(state: ConnectionState, detail: StateDetail): void {
    const mapped = state === 'connecting' && this.wasOpen ? 'reconnecting' : state;
    if (mapped === 'open') this.wasOpen = true;
    this.setState(mapped, detail);
  }

  private setState(state: ConnectionState, detail: StateDetail): void {
    if (this.state === 'closed' || (state === this.state && state !== 'reconnecting')) return;
    this.state = state;
    this.events.emit('state', state, detail);
  }

  private post(message: TabMessage): void {
    if (this.state !== 'closed') this.channel.postMessage(message);
  }

  private tabLock(tab: TabId): string {
    return `${this.name}:tab:${tab}`;
  }

  private readonly onPageHide = (): void => void this.close();

  private report(error: ClientError): void {
    if (this.events.emit('error', error) === 0) rethrowLater(error);
  }

  private readonly onThrow = (thrown: unknown): void => {
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    this.report(new ClientError('LISTENER_ERROR', `a listener threw: ${message}`, undefined, { cause: thrown }));
  };
}

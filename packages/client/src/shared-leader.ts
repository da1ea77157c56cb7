import { type Client, createClient } from './client.js';
import { type ClientError, goesOn } from './errors.js';
import { keyString } from '@entity-sync/protocol';
import { holdLock, type LockManagerLike } from './shared-election.js';
import type { LeaderOutput, TabId, ToLeader } from './shared-protocol.js';
import type { ClientOptions, ConnectionState, EntityKey } from './types.js';

/** One key as the leader holds it for all tabs: one core subscription, and who wants it. */
interface HeldKey {
  key: EntityKey;
  tabs: Set<TabId>;
  stop: () => void;
  /** The last value, for a tab that joins later. */
  last: { value: unknown } | undefined;
  /** The last error since the last value, for a tab that joins later. */
  error: ClientError | undefined;
  /** The server dropped the key; the next tab that asks for it subscribes it again. */
  failed: boolean;
}

/** How the leader reaches the tabs, and what it needs from its own tab. */
export interface LeaderIO {
  /** Sends to every tab (or to `to`), the leader's own tab included. */
  send(message: LeaderOutput): void;
  /** The Web Locks API, to notice tabs that vanish without a goodbye; absent in the fallback. */
  locks: LockManagerLike | undefined;
  /** The name of each tab's presence lock: `lockName(tab)`. */
  tabLock(tab: TabId): string;
}

/**
 * The tab that holds the socket: one core client, and for every key the union of what the tabs
 * want. A key has one core subscription (so one wire subscription) however many tabs hold it;
 * each value goes out once on the channel, and a tab that joins gets the last value.
 */
export class Leader {
  private readonly client: Client;
  private readonly keys = new Map<string, HeldKey>();
  private readonly tabs = new Map<TabId, Set<string>>();
  /** What `close()` undoes: the client's listeners and the watches of other tabs' presence locks. */
  private readonly watches: (() => void)[] = [];
  private secret: string | null;

  constructor(
    private readonly io: LeaderIO,
    private readonly self: TabId,
    options: ClientOptions,
    secret: string | null,
  ) {
    this.secret = secret;
    const { secret: first, ...rest } = options;
    // A `secret` function goes to the leader's client, which calls it (again after an expiry).
    this.client = createClient(secret !== null ? { ...rest, secret } : typeof first === 'function' ? options : rest);
    this.watches.push(
      this.client.on('state', (state, detail) => io.send({ t: 'state', state, detail })),
      this.client.on('error', ({ code, message, key }) => io.send({ t: 'err', code, message, ...(key ? { key } : {}) })),
      this.client.on('secretExpired', () => io.send({ t: 'expired' })),
    );
  }

  get state(): ConnectionState {
    return this.client.state;
  }

  handle(message: ToLeader): void {
    const { from } = message;
    if (message.t === 'secret') this.setSecret(message.secret);
    else if (message.t === 'bye') this.drop(from);
    else if (message.t === 'sub') this.add(from, message.key);
    else if (message.t === 'unsub') this.remove(from, keyString(message.key));
    else this.replace(from, message.keys);
  }

  /** Applies a secret only when it differs: a tab opening with the same token costs nothing. */
  setSecret(secret: string | null): void {
    if (secret === this.secret) return;
    this.secret = secret;
    this.client.setSecret(secret);
  }

  /** Closes the socket (when this tab steps down or closes); the tabs hear nothing more from it. */
  close(): Promise<void> {
    for (const stop of this.watches) stop();
    return this.client.close();
  }

  private add(tab: TabId, key: EntityKey): void {
    const k = keyString(key);
    const mine = this.tabKeys(tab);
    let held = this.keys.get(k);
    if (!held) {
      held = {
        key: key.params === undefined ? { entity: key.entity, id: key.id } : { entity: key.entity, id: key.id, params: key.params },
        tabs: new Set(),
        stop: () => {},
        last: undefined,
        error: undefined,
        failed: false,
      };
      this.keys.set(k, held);
      this.start(held);
    } else if (held.failed) {
      held.stop();
      this.start(held);
    } else if (!mine.has(k)) {
      this.catchUp(held, tab);
    }
    mine.add(k);
    held.tabs.add(tab);
  }

  private start(held: HeldKey): void {
    const { key } = held;
    held.failed = false;
    held.last = held.error = undefined;
    held.stop = this.client.subscribe(
      key,
      (value, meta) => {
        held.last = { value };
        held.error = undefined;
        this.io.send({ t: 'data', key, value, snapshot: meta.snapshot });
      },
      (error) => {
        held.error = error;
        held.failed = !goesOn(error.code);
        this.io.send({ t: 'kerr', key, code: error.code, message: error.message });
      },
    );
  }

  private catchUp(held: HeldKey, to: TabId): void {
    const { key, last, error } = held;
    if (last) this.io.send({ t: 'data', key, value: last.value, snapshot: true, to });
    else if (error) this.io.send({ t: 'kerr', key, code: error.code, message: error.message, to });
  }

  private remove(tab: TabId, k: string): void {
    this.tabs.get(tab)?.delete(k);
    const held = this.keys.get(k);
    if (!held?.tabs.delete(tab) || held.tabs.size > 0) return;
    this.keys.delete(k);
    held.stop();
  }

  private replace(tab: TabId, keys: EntityKey[]): void {
    const wanted = new Set(keys.map(keyString));
    for (const k of [...this.tabKeys(tab)]) if (!wanted.has(k)) this.remove(tab, k);
    for (const key of keys) this.add(tab, key);
  }

  private drop(tab: TabId): void {
    for (const k of [...(this.tabs.get(tab) ?? [])]) this.remove(tab, k);
    this.tabs.delete(tab);
  }

  /** A tab's key set; the first time a tab is seen, its presence lock is watched. */
  private tabKeys(tab: TabId): Set<string> {
    let keys = this.tabs.get(tab);
    if (!keys) {
      this.tabs.set(tab, (keys = new Set()));
      const { locks } = this.io;
      // Granted only once the tab is gone (closed, crashed, navigated away): drop what it held.
      if (locks && tab !== this.self) {
        const release = holdLock(locks, this.io.tabLock(tab), () => {
          this.drop(tab);
          release();
        });
        this.watches.push(release);
      }
    }
    return keys;
  }
}

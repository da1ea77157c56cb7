import { type ClientError, type ConnectionState, type EntityKey, toKey } from '@entity-sync/client';
import type { EntityResult } from './types.js';

type Result = EntityResult<unknown>;

/** The result of a key nobody holds yet. One frozen object, so `useSyncExternalStore` sees no change. */
export const LOADING: Result = Object.freeze({ status: 'loading', data: undefined, error: undefined, stale: false });

/** After a suspended render's key settles, how long it stays held for the component to commit. */
export const SUSPENSE_HOLD_MS = 10_000;

/** The part of a client the store uses; every `Client<Entities>` fits. */
export interface StoreClient {
  readonly state: ConnectionState;
  subscribe(key: EntityKey, listener: (value: unknown) => void, onError: (error: ClientError) => void): () => void;
  on(event: 'state', listener: (state: ConnectionState) => void): () => void;
}

/** A key as a hook takes it: `{ entity, id }`, or `{ entity, params }` for a query entity. */
export type HookKey = { entity: string; id: string } | { entity: string; params: Readonly<Record<string, unknown>> };

/**
 * The key with the id the client goes by (a query key's is the canonical JSON of its params, so
 * `{ a: 1, b: 2 }` and `{ b: 2, a: 1 }` share one subscription). Throws a `TypeError` for a key
 * of neither form.
 */
export function normalizeKey(key: HookKey): EntityKey {
  return toKey(key as { entity: string; id?: string; params?: Record<string, unknown> });
}

/** A normalized key as one map key (an entity name cannot contain `/`), as the client spells it. */
export function keyString(key: EntityKey): string {
  return `${key.entity}/${key.id}`;
}

/** One key's shared state: its client subscription, its result, and who holds it. */
class Entry {
  result: Result = LOADING;
  /** Committed subscribers plus Suspense holds. */
  users = 0;
  readonly listeners = new Set<() => void>();
  stop: () => void = () => {};
  /** Resolves with the key's first value or error. */
  readonly settled: Promise<void>;
  settle!: () => void;

  constructor() {
    this.settled = new Promise((resolve) => (this.settle = resolve));
  }
}

/**
 * The hooks' view of one client: one client subscription per key, shared by every hook that
 * reads the key, and an immutable result per key for `useSyncExternalStore`. A key is released
 * a microtask after its last user leaves, so StrictMode's unmount-and-mount in one commit keeps
 * the subscription instead of dropping and re-sending it.
 */
export class EntityStore {
  private readonly entries = new Map<string, Entry>();
  private live: boolean;

  constructor(readonly client: StoreClient) {
    this.live = client.state === 'open';
    client.on('state', (state) => this.onState(state));
  }

  /** The key's current result, without side effects (`LOADING` for a key nobody holds). */
  get(k: string): Result {
    return this.entries.get(k)?.result ?? LOADING;
  }

  /** Holds `key` and calls `onChange` whenever its result changes; returns the release (idempotent). */
  subscribe(key: EntityKey, onChange: () => void): () => void {
    const entry = this.acquire(key);
    entry.listeners.add(onChange);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.listeners.delete(onChange);
      this.release(key, entry);
    };
  }

  /**
   * For a render that suspends (and so never commits or subscribes): holds `key` until
   * `SUSPENSE_HOLD_MS` after its first value or error, and returns the promise of that moment.
   */
  suspend(key: EntityKey): Promise<void> {
    const entry = this.acquire(key);
    void entry.settled.then(() => setTimeout(() => this.release(key, entry), SUSPENSE_HOLD_MS));
    return entry.settled;
  }

  private acquire(key: EntityKey): Entry {
    const k = keyString(key);
    let entry = this.entries.get(k);
    if (!entry) {
      const created = new Entry();
      this.entries.set(k, created);
      created.stop = this.client.subscribe(
        key.params === undefined ? { entity: key.entity, id: key.id } : key,
        (value) => this.set(created, valueResult(value, this.live)),
        (error) => this.set(created, errorResult(error, created.result)),
      );
      entry = created;
    }
    entry.users++;
    return entry;
  }

  private release(key: EntityKey, entry: Entry): void {
    if (--entry.users > 0) return;
    queueMicrotask(() => {
      const k = keyString(key);
      if (entry.users > 0 || this.entries.get(k) !== entry) return;
      this.entries.delete(k);
      entry.stop();
    });
  }

  private set(entry: Entry, result: Result): void {
    entry.result = result;
    entry.settle();
    for (const listener of [...entry.listeners]) listener();
  }

  /** Values become current again only when the fresh snapshots after a reconnect arrive. */
  private onState(state: ConnectionState): void {
    const live = state === 'open';
    if (live === this.live && state !== 'closed') return;
    this.live = live;
    if (live) return;
    for (const entry of this.entries.values()) {
      const result = state === 'closed' ? closedResult(entry.result) : droppedResult(entry.result);
      if (result !== entry.result) this.set(entry, result);
    }
  }
}

const stores = new WeakMap<StoreClient, EntityStore>();

/** The one store of a client, created on first use. */
export function storeFor(client: StoreClient): EntityStore {
  let store = stores.get(client);
  if (!store) stores.set(client, (store = new EntityStore(client)));
  return store;
}

function valueResult(value: unknown, live: boolean): Result {
  if (!live) return { status: 'reconnecting', data: value, error: undefined, stale: true };
  if (value === null) return { status: 'missing', data: null, error: undefined, stale: false };
  return { status: 'ready', data: value, error: undefined, stale: false };
}

function errorResult(error: ClientError, previous: Result): Result {
  if (error.code === 'FORBIDDEN') return { status: 'forbidden', data: undefined, error, stale: false };
  return { status: 'error', data: previous.data, error, stale: previous.data !== undefined };
}

/** The connection dropped: a value becomes `reconnecting`; loading and errors stay as they are. */
function droppedResult(result: Result): Result {
  if (result.status !== 'ready' && result.status !== 'missing') return result;
  return { status: 'reconnecting', data: result.data, error: undefined, stale: true };
}

/** The client closed for good: nothing more comes, so every value is stale as it stands. */
function closedResult(result: Result): Result {
  if (result.status === 'reconnecting') return { ...valueResult(result.data, true), stale: true } as Result;
  if (result.data === undefined || result.stale) return result;
  return { ...result, stale: true };
}

import type { EncodedBatch } from './encode.js';
import type { KeyString } from './keys.js';
import type { GroupId } from './subscription.js';

/** One fetch result kept for a while: its values (and their encoding when no view shapes them). */
export interface Cached {
  readonly values: readonly unknown[];
  readonly batch: EncodedBatch | undefined;
  /** The fetch's sequence number. */
  readonly seq: number;
  /** When it was fetched or last served. */
  at: number;
}

/**
 * A short-lived node-local cache of the latest value fetched per (key, group), so that a storm
 * of clients (re)subscribing to the same keys costs one fetch per distinct (key, group), not one
 * per client. It never crosses groups (secrets, users), keeps an entry at most `ttlMs` after it
 * was fetched or last served (a storm that outlasts `ttlMs` keeps hitting it) and at most
 * `maxEntries` in all (the oldest put go first), and forgets a key the moment the node sees it
 * change, so it never serves a value older than the last notification seen. Whether a value is
 * still current also depends on the bus (see `Topic.confirmedSeq`), which the node checks.
 */
export class ValueCache {
  readonly #byKey = new Map<KeyString, Map<GroupId, Cached>>();
  /** Insertion order across keys, for the size bound. */
  readonly #order = new Map<string, [KeyString, GroupId]>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0 && this.maxEntries > 0;
  }

  get size(): number {
    return this.#order.size;
  }

  put(keyString: KeyString, group: GroupId, cached: Cached): void {
    if (!this.enabled) return;
    let groups = this.#byKey.get(keyString);
    if (groups === undefined) this.#byKey.set(keyString, (groups = new Map()));
    groups.set(group, cached);
    const id = `${group.length}:${group}${keyString}`;
    this.#order.delete(id);
    this.#order.set(id, [keyString, group]);
    while (this.#order.size > this.maxEntries) {
      const [oldest, [k, g]] = this.#order.entries().next().value as [string, [KeyString, GroupId]];
      this.#order.delete(oldest);
      this.#delete(k, g);
    }
  }

  /**
   * The cached result of `(keyString, group)`, if it was fetched or last served within `ttlMs`;
   * serving it starts its `ttlMs` again. Safe for as long as the node keeps it: any change the
   * node sees of the key, a bus outage and the end of the key's bus subscription all drop it.
   */
  get(keyString: KeyString, group: GroupId, now: number): Cached | undefined {
    const cached = this.#byKey.get(keyString)?.get(group);
    if (cached === undefined) return undefined;
    if (now - cached.at > this.ttlMs) {
      this.#delete(keyString, group);
      return undefined;
    }
    cached.at = now;
    return cached;
  }

  /** The key changed: its values are stale for every group. */
  invalidate(keyString: KeyString): void {
    const groups = this.#byKey.get(keyString);
    if (groups === undefined) return;
    this.#byKey.delete(keyString);
    for (const group of groups.keys()) this.#order.delete(`${group.length}:${group}${keyString}`);
  }

  clear(): void {
    this.#byKey.clear();
    this.#order.clear();
  }

  #delete(keyString: KeyString, group: GroupId): void {
    const groups = this.#byKey.get(keyString);
    if (groups === undefined) return;
    groups.delete(group);
    this.#order.delete(`${group.length}:${group}${keyString}`);
    if (groups.size === 0) this.#byKey.delete(keyString);
  }
}

import type { BrokerSession } from './broker.js';
import type { EntityKey, KeyString } from './keys.js';
import type { ResolvedEntity } from './options.js';
import { dataFramePrefix } from './protocol.js';
import { type GroupId, groupOf, type Subscription } from './subscription.js';

/** All local subscriptions to one key, grouped the way fetches for it are grouped, and its bus state. */
export interface KeyEntry {
  readonly key: EntityKey;
  readonly keyString: KeyString;
  readonly entity: ResolvedEntity;
  /** The key's bus subject, built once. */
  readonly subject: string;
  /** The start of the key's v1 `data` frames, built once. */
  readonly framePrefix: string;
  /** The key's bus change message, built on its first notify. */
  payload: Uint8Array | undefined;
  readonly groups: Map<GroupId, Set<Subscription>>;
  /** Local subscriptions. */
  size: number;
  /** Whether the broker confirmed this node's subscription to `subject`. */
  subscribed: boolean;
  /** Serializes the key's bus subscribe and unsubscribe calls. */
  chain: Promise<void>;
}

const IDLE: Promise<void> = Promise.resolve();

/**
 * The node's one registry of local subscriptions: `key -> group -> subscriptions` (each
 * connection keeps its own `key -> subscription` map, so both directions are O(1) and a notify
 * costs O(subscribers of that key on this node)), and interest-based routing from the same
 * counts: the node subscribes to a key's subject when its first local subscriber arrives and
 * unsubscribes when the last leaves. Bus calls are serialized per key, so a quick leave and
 * return never ends unsubscribed while wanted.
 */
export class Registry {
  readonly #entries = new Map<KeyString, KeyEntry>();
  #keys = 0;
  #subscriptions = 0;

  constructor(
    private readonly session: () => Promise<BrokerSession>,
    private readonly subjectOf: (key: EntityKey) => string,
  ) {}

  get(keyString: KeyString): KeyEntry | undefined {
    return this.#entries.get(keyString);
  }

  entries(): IterableIterator<KeyEntry> {
    return this.#entries.values();
  }

  /** Keys with at least one local subscription. */
  get keyCount(): number {
    return this.#keys;
  }

  /** Connection-key pairs. */
  get subscriptionCount(): number {
    return this.#subscriptions;
  }

  /** Keys whose bus subscription the broker confirmed. */
  get busSubscriptionCount(): number {
    let count = 0;
    for (const entry of this.#entries.values()) if (entry.subscribed) count++;
    return count;
  }

  /**
   * Adds `sub` in its owner's current group. Returns `undefined` when the key's bus subscription
   * is confirmed already, else a promise that resolves once the broker confirmed it and rejects
   * if that failed (the caller then removes `sub`).
   */
  add(sub: Subscription): Promise<void> | undefined {
    let entry = this.#entries.get(sub.keyString);
    if (entry === undefined) {
      entry = {
        key: sub.key,
        keyString: sub.keyString,
        entity: sub.entity,
        subject: this.subjectOf(sub.key),
        framePrefix: dataFramePrefix(sub.key),
        payload: undefined,
        groups: new Map(),
        size: 0,
        subscribed: false,
        chain: IDLE,
      };
      this.#entries.set(sub.keyString, entry);
    }
    sub.group = groupOf(sub.entity.scope, sub.owner);
    addToGroup(entry, sub);
    if (entry.size++ === 0) this.#keys++;
    this.#subscriptions++;
    if (entry.subscribed && entry.chain === IDLE) return undefined;
    const it = entry;
    return this.#enqueue(it, async () => {
      if (it.size > 0 && !it.subscribed) {
        await (await this.session()).subscribe(it.subject);
        it.subscribed = true;
      }
    });
  }

  /** Removes `sub`; the key's last local subscription releases its bus subscription. */
  remove(sub: Subscription): void {
    const entry = this.#entries.get(sub.keyString);
    if (entry === undefined || !removeFromGroup(entry, sub)) return;
    this.#subscriptions--;
    if (--entry.size > 0) return;
    this.#keys--;
    this.#enqueue(entry, async () => {
      if (entry.size === 0 && entry.subscribed) {
        entry.subscribed = false;
        await (await this.session()).unsubscribe(entry.subject);
      }
    }).catch(() => {
      // The session reports its own failures; a failed unsubscribe only costs stray messages.
    });
  }

  /** Moves `sub` to the group its owner now belongs to (after a secret change). */
  regroup(sub: Subscription): void {
    const entry = this.#entries.get(sub.keyString);
    const group = groupOf(sub.entity.scope, sub.owner);
    if (entry === undefined || group === sub.group) return;
    removeFromGroup(entry, sub);
    sub.group = group;
    addToGroup(entry, sub);
  }

  #enqueue(entry: KeyEntry, step: () => Promise<void>): Promise<void> {
    // Nothing pending: start at once rather than a turn later.
    const done = entry.chain === IDLE ? step() : entry.chain.then(step);
    const settled: Promise<void> = done.then(
      () => this.#settle(entry, settled),
      () => this.#settle(entry, settled),
    );
    entry.chain = settled;
    return done;
  }

  /** After a bus step: forget an unused key, or let an idle one hold no promise. */
  #settle(entry: KeyEntry, step: Promise<void>): void {
    if (entry.size === 0 && !entry.subscribed && this.#entries.get(entry.keyString) === entry) {
      this.#entries.delete(entry.keyString);
    } else if (entry.chain === step) {
      entry.chain = IDLE;
    }
  }
}

function addToGroup(entry: KeyEntry, sub: Subscription): void {
  let members = entry.groups.get(sub.group);
  if (members === undefined) entry.groups.set(sub.group, (members = new Set()));
  members.add(sub);
}

function removeFromGroup(entry: KeyEntry, sub: Subscription): boolean {
  const members = entry.groups.get(sub.group);
  if (members === undefined || !members.delete(sub)) return false;
  if (members.size === 0) entry.groups.delete(sub.group);
  return true;
}

import type { EntityKey, KeyString } from './keys.js';
import type { ResolvedEntity } from './options.js';
import type { GroupId, Subscription } from './subscription.js';

/** All local subscriptions to one key, grouped the way fetches for it are grouped. */
export interface KeyEntry {
  readonly key: EntityKey;
  readonly keyString: KeyString;
  readonly entity: ResolvedEntity;
  readonly groups: Map<GroupId, Set<Subscription>>;
  size: number;
}

/**
 * `key -> subscriptions` by fetch group. Each connection keeps its own `key -> subscription`
 * map, so both directions are O(1), and a notify costs O(subscribers of that key on this node).
 */
export class SubscriptionIndex {
  readonly #entries = new Map<KeyString, KeyEntry>();
  #subscriptions = 0;

  get(keyString: KeyString): KeyEntry | undefined {
    return this.#entries.get(keyString);
  }

  entries(): IterableIterator<KeyEntry> {
    return this.#entries.values();
  }

  get keyCount(): number {
    return this.#entries.size;
  }

  get subscriptionCount(): number {
    return this.#subscriptions;
  }

  /** Adds `sub` in its owner's current group. Returns true when it is the key's first. */
  add(sub: Subscription): boolean {
    let entry = this.#entries.get(sub.keyString);
    const first = entry === undefined;
    if (entry === undefined) {
      entry = { key: sub.key, keyString: sub.keyString, entity: sub.entity, groups: new Map(), size: 0 };
      this.#entries.set(sub.keyString, entry);
    }
    sub.group = sub.groupFor(sub.owner);
    addToGroup(entry, sub);
    entry.size++;
    this.#subscriptions++;
    return first;
  }

  /** Removes `sub`. Returns true when it was the key's last. */
  remove(sub: Subscription): boolean {
    const entry = this.#entries.get(sub.keyString);
    if (entry === undefined || !removeFromGroup(entry, sub)) return false;
    entry.size--;
    this.#subscriptions--;
    if (entry.size > 0) return false;
    this.#entries.delete(sub.keyString);
    return true;
  }

  /** Moves `sub` to the group its owner now belongs to (after a secret change). */
  regroup(sub: Subscription): void {
    const entry = this.#entries.get(sub.keyString);
    const group = sub.groupFor(sub.owner);
    if (entry === undefined || group === sub.group) return;
    removeFromGroup(entry, sub);
    sub.group = group;
    addToGroup(entry, sub);
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

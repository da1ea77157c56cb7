import type { BrokerSession } from './broker.js';
import type { EntityKey, KeyString } from './keys.js';
import type { ResolvedEntity } from './options.js';
import { dataFramePrefix } from './protocol.js';
import { type GroupId, groupOf, type Subscription } from './subscription.js';

/**
 * One bus subject this node may listen to: a key's or a tag's. Its holders are the key's local
 * subscriptions (as one) and the fetch groups whose latest value depends on it; the node is
 * subscribed on the bus while it has holders.
 */
export interface Topic {
  readonly subject: string;
  /** 1 while the key it names has local subscriptions, plus 1 per dependent (key, group). */
  holders: number;
  /** Whether the broker confirmed this node's subscription to `subject`. */
  subscribed: boolean;
  /** Serializes the subject's bus subscribe and unsubscribe calls. */
  chain: Promise<void>;
  /** The fetch sequence number when a change of this subject was last seen here. */
  notifiedAt: number;
  /** Fetch groups whose latest value declared this subject as a dependency. */
  readonly dependents: Map<KeyEntry, Set<GroupId>>;
  /**
   * The fetch sequence number when the bus last confirmed the subscription: a value from a fetch
   * started after it, with no change seen since, is current (see `ValueCache`).
   */
  confirmedSeq: number;
  /** While the last holder is gone but the subscription lingers (`lingerMs`). */
  linger: NodeJS.Timeout | undefined;
  /** The key this subject names, for a key's topic. */
  keyString: KeyString | undefined;
}

export interface RegistryOptions {
  /** The current fetch sequence number. */
  seq(): number;
  /** How long a subject stays subscribed after its last holder left (a reconnect storm comes back). */
  lingerMs: number;
  /** The node unsubscribed from `topic`: what it knew about it may be stale from now on. */
  forgotten(topic: Topic): void;
}

/** All local subscriptions to one key, grouped the way fetches for it are grouped. */
export interface KeyEntry {
  readonly key: EntityKey;
  readonly keyString: KeyString;
  readonly entity: ResolvedEntity;
  /** The key's bus subject and its interest. */
  readonly topic: Topic;
  /** The start of the key's v1 `data` frames, built once. */
  readonly framePrefix: string;
  /** The fields naming the key in bus change messages, built on its first notify. */
  fields: string | undefined;
  readonly groups: Map<GroupId, Set<Subscription>>;
  /** What each group's latest fetch declared it depends on (subjects of keys and tags). */
  readonly dependencies: Map<GroupId, ReadonlySet<string>>;
  /** Local subscriptions. */
  size: number;
}

/** What follows from a fetch's declared dependencies (see {@link Registry.depend}). */
export interface Dependencies {
  /** A change of a newly declared dependency was seen after the fetch started: fetch again now. */
  stale: boolean;
  /** Resolves when the bus confirmed newly declared subjects: fetch again then. */
  confirmed: Promise<void> | undefined;
}

const IDLE: Promise<void> = Promise.resolve();
const NONE: ReadonlySet<string> = new Set();

/**
 * The node's one registry: local subscriptions by `key -> group -> subscriptions` (each
 * connection keeps its own `key -> subscription` map, so both directions are O(1) and a notify
 * costs O(subscribers of that key on this node)), the dependencies fetches declared, and from
 * both the bus interest: the node subscribes to a subject when its first holder arrives and
 * unsubscribes when the last leaves, with the bus calls serialized per subject, so a quick leave
 * and return never ends unsubscribed while wanted.
 */
export class Registry {
  readonly #entries = new Map<KeyString, KeyEntry>();
  readonly #topics = new Map<string, Topic>();
  #subscriptions = 0;

  constructor(
    private readonly session: () => Promise<BrokerSession>,
    private readonly subjectOf: (key: EntityKey) => string,
    private readonly options: RegistryOptions,
  ) {}

  get(keyString: KeyString): KeyEntry | undefined {
    return this.#entries.get(keyString);
  }

  topic(subject: string): Topic | undefined {
    return this.#topics.get(subject);
  }

  entries(): IterableIterator<KeyEntry> {
    return this.#entries.values();
  }

  /** Keys with at least one local subscription. */
  get keyCount(): number {
    return this.#entries.size;
  }

  /** Connection-key pairs. */
  get subscriptionCount(): number {
    return this.#subscriptions;
  }

  /** Subjects whose bus subscription the broker confirmed. */
  get busSubscriptionCount(): number {
    let count = 0;
    for (const topic of this.#topics.values()) if (topic.subscribed) count++;
    return count;
  }

  /** Subjects held only as dependencies of fetches (tags, and keys without local subscriptions). */
  get dependencyCount(): number {
    let count = 0;
    for (const topic of this.#topics.values()) if (topic.dependents.size > 0) count++;
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
      const topic = this.#topicOf(this.subjectOf(sub.key));
      topic.keyString = sub.keyString;
      entry = {
        key: sub.key,
        keyString: sub.keyString,
        entity: sub.entity,
        topic,
        framePrefix: dataFramePrefix(sub.key),
        fields: undefined,
        groups: new Map(),
        dependencies: new Map(),
        size: 0,
      };
      this.#entries.set(sub.keyString, entry);
      this.#hold(topic);
    }
    sub.group = groupOf(sub.entity.scope, sub.owner);
    this.#addToGroup(entry, sub);
    entry.size++;
    this.#subscriptions++;
    return this.#confirmation(entry.topic);
  }

  /** Removes `sub`; the key's last local subscription releases its bus subscription. */
  remove(sub: Subscription): void {
    const entry = this.#entries.get(sub.keyString);
    if (entry === undefined || !this.#removeFromGroup(entry, sub)) return;
    this.#subscriptions--;
    if (--entry.size > 0) return;
    this.#entries.delete(entry.keyString);
    this.#release(entry.topic);
  }

  /** Moves `sub` to the group its owner now belongs to (after a secret or identity change). */
  regroup(sub: Subscription): void {
    const entry = this.#entries.get(sub.keyString);
    const group = groupOf(sub.entity.scope, sub.owner);
    if (entry === undefined || group === sub.group) return;
    this.#removeFromGroup(entry, sub);
    sub.group = group;
    this.#addToGroup(entry, sub);
  }

  /**
   * Records the subjects (keys and tags) that the latest fetch of `(entry, group)`, started at
   * sequence `seq`, declared it depends on, and holds their bus subscriptions. A subject that is
   * new for this group may have changed while the fetch ran without this group hearing it: if
   * this node saw that change, the value is `stale`; if the node was not yet subscribed, it
   * cannot know, so the caller fetches again once `confirmed` resolves.
   */
  depend(entry: KeyEntry, group: GroupId, subjects: ReadonlySet<string>, seq: number): Dependencies {
    const before = entry.dependencies.get(group) ?? NONE;
    let stale = false;
    let confirmations: Array<Promise<void>> | undefined;
    for (const subject of subjects) {
      if (before.has(subject)) continue;
      const topic = this.#topicOf(subject);
      this.#addDependent(topic, entry, group);
      if (topic.notifiedAt >= seq) stale = true;
      const confirmation = this.#confirmation(topic);
      if (confirmation !== undefined) (confirmations ??= []).push(confirmation);
    }
    for (const subject of before) {
      if (!subjects.has(subject)) this.#removeDependent(this.#topics.get(subject), entry, group);
    }
    if (subjects.size > 0) entry.dependencies.set(group, subjects);
    else entry.dependencies.delete(group);
    return { stale, confirmed: confirmations === undefined ? undefined : Promise.all(confirmations).then(() => undefined) };
  }

  /**
   * Holds `subject` for server code watching it (a tag): resolves once the bus confirmed it, like
   * {@link add}. Each call needs one {@link unwatch}.
   */
  watch(subject: string): Promise<void> | undefined {
    const topic = this.#topicOf(subject);
    this.#hold(topic);
    return this.#confirmation(topic);
  }

  unwatch(subject: string): void {
    const topic = this.#topics.get(subject);
    if (topic !== undefined) this.#release(topic);
  }

  /** A change of `subject` was seen at fetch sequence `seq`; returns its topic, if held. */
  notified(subject: string, seq: number): Topic | undefined {
    const topic = this.#topics.get(subject);
    if (topic !== undefined) topic.notifiedAt = seq;
    return topic;
  }

  #addToGroup(entry: KeyEntry, sub: Subscription): void {
    let members = entry.groups.get(sub.group);
    if (members === undefined) entry.groups.set(sub.group, (members = new Set()));
    members.add(sub);
  }

  #removeFromGroup(entry: KeyEntry, sub: Subscription): boolean {
    const members = entry.groups.get(sub.group);
    if (members === undefined || !members.delete(sub)) return false;
    if (members.size > 0) return true;
    entry.groups.delete(sub.group);
    // Nobody left to fetch for: the group's dependencies go too.
    for (const subject of entry.dependencies.get(sub.group) ?? NONE) this.#removeDependent(this.#topics.get(subject), entry, sub.group);
    entry.dependencies.delete(sub.group);
    return true;
  }

  #addDependent(topic: Topic, entry: KeyEntry, group: GroupId): void {
    let groups = topic.dependents.get(entry);
    if (groups === undefined) topic.dependents.set(entry, (groups = new Set()));
    if (groups.has(group)) return;
    groups.add(group);
    this.#hold(topic);
  }

  #removeDependent(topic: Topic | undefined, entry: KeyEntry, group: GroupId): void {
    const groups = topic?.dependents.get(entry);
    if (topic === undefined || groups === undefined || !groups.delete(group)) return;
    if (groups.size === 0) topic.dependents.delete(entry);
    this.#release(topic);
  }

  // Bus interest ----------------------------------------------------------------------------

  #topicOf(subject: string): Topic {
    let topic = this.#topics.get(subject);
    if (topic === undefined) {
      topic = {
        subject,
        holders: 0,
        subscribed: false,
        chain: IDLE,
        notifiedAt: 0,
        dependents: new Map(),
        confirmedSeq: 0,
        linger: undefined,
        keyString: undefined,
      };
      this.#topics.set(subject, topic);
    }
    return topic;
  }

  /** The first holder subscribes the node to the subject (or keeps a lingering subscription). */
  #hold(topic: Topic): void {
    if (topic.holders++ > 0) return;
    if (topic.linger !== undefined) {
      clearTimeout(topic.linger);
      topic.linger = undefined;
    }
    this.#enqueue(topic, () => this.#subscribeStep(topic)).catch(() => {
      // Whoever waits for the confirmation hears of the failure; see #confirmation.
    });
  }

  async #subscribeStep(topic: Topic): Promise<void> {
    if (topic.holders > 0 && !topic.subscribed) {
      await (await this.session()).subscribe(topic.subject);
      topic.subscribed = true;
      topic.confirmedSeq = this.options.seq();
    }
  }

  /** The last holder out unsubscribes, after lingering for `lingerMs`. */
  #release(topic: Topic): void {
    if (--topic.holders > 0) return;
    if (this.options.lingerMs === 0) {
      this.#unsubscribe(topic);
      return;
    }
    topic.linger = setTimeout(() => {
      topic.linger = undefined;
      this.#unsubscribe(topic);
    }, this.options.lingerMs);
    topic.linger.unref();
  }

  #unsubscribe(topic: Topic): void {
    this.#enqueue(topic, async () => {
      if (topic.holders === 0 && topic.subscribed) {
        topic.subscribed = false;
        this.options.forgotten(topic);
        await (await this.session()).unsubscribe(topic.subject);
      }
    }).catch(() => {
      // The session reports its own failures; a failed unsubscribe only costs stray messages.
    });
  }

  /** Unsubscribes every lingering subject at once (the node closes). */
  stopLingering(): void {
    for (const topic of this.#topics.values()) {
      if (topic.linger === undefined) continue;
      clearTimeout(topic.linger);
      topic.linger = undefined;
      this.#unsubscribe(topic);
    }
  }

  /**
   * `undefined` when the node is subscribed to the subject with nothing pending; else a promise
   * that resolves when the pending bus calls leave it subscribed, and rejects when they failed.
   */
  #confirmation(topic: Topic): Promise<void> | undefined {
    if (topic.subscribed && topic.chain === IDLE) return undefined;
    return topic.chain.then(() => {
      if (!topic.subscribed) {
        if (topic.holders > 0) return this.#retrySubscribe(topic);
        throw new Error(`not subscribed to ${topic.subject}`);
      }
    });
  }

  /** A subscribe that failed earlier is tried again for a new holder. */
  #retrySubscribe(topic: Topic): Promise<void> {
    return this.#enqueue(topic, () => this.#subscribeStep(topic));
  }

  #enqueue(topic: Topic, step: () => Promise<void>): Promise<void> {
    // Nothing pending: start at once rather than a turn later.
    const done = topic.chain === IDLE ? step() : topic.chain.then(step);
    const settled: Promise<void> = done.then(
      () => this.#settle(topic, settled),
      () => this.#settle(topic, settled),
    );
    topic.chain = settled;
    return done;
  }

  /** After a bus step: forget an unused subject, or let an idle one hold no promise. */
  #settle(topic: Topic, step: Promise<void>): void {
    if (topic.chain !== step) return;
    topic.chain = IDLE;
    if (topic.holders === 0 && !topic.subscribed && topic.linger === undefined && this.#topics.get(topic.subject) === topic) {
      this.#topics.delete(topic.subject);
    }
  }
}

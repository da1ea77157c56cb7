import type { FetchResult } from './fetch-scheduler.js';
import type { EntityKey, KeyString } from './keys.js';
import type { ResolvedEntity } from './options.js';

/** Groups fetches for one key (design section 4): a client id, a secret, or `''` (shared). */
export type GroupId = string;

/**
 * Where one connection's subscription to one key stands.
 * - `pending`: subscribe in progress (authorize, bus confirmation); receives nothing yet.
 * - `authorizing`: the secret changed and `authorize` is re-running; receives nothing.
 * - `active`: receives values.
 * - `forbidden`: held but receives nothing until a secret change allows it.
 * - `removed`: unsubscribed or disconnected.
 */
export type SubscriptionState = 'pending' | 'authorizing' | 'active' | 'forbidden' | 'removed';

/** What a subscribe waiting for its snapshot learns: sent, or why not. */
export type FetchOutcome = { ok: true } | { ok: false; code: 'FETCH_FAILED' | 'FETCH_TIMEOUT' | 'FORBIDDEN' };

/** What the index and the scheduler need to know of a connection. */
export interface Subscriber {
  readonly id: string;
  readonly secret: string;
  /** Counts the connection's secret changes; an authorization holds for one generation only. */
  readonly generation: number;
  /** Delivers the result of fetch number `seq` for `sub`. */
  push(sub: Subscription, seq: number, result: FetchResult): void;
}

export class Subscription {
  state: SubscriptionState = 'pending';
  /** The last settled authorization, to tell a client only when a key becomes forbidden. */
  settled: 'active' | 'forbidden' | undefined;
  /**
   * The owner's secret generation under which `authorize` last allowed this key; `undefined`
   * while none did. Only {@link allow} sets it.
   */
  #grant: number | undefined;
  /** Fingerprint of the last values sent (v1), to skip sending the same bytes again. */
  lastSent: number | undefined;
  /** Identifies the latest re-authorization run; older runs give way. */
  authRun = 0;
  /** Values from fetches with a sequence number at or below this are never delivered. */
  seenSeq = 0;
  /** Fetch group; kept in step with the owner's secret by the index. */
  group: GroupId = '';
  /** Called on the next fetch outcome delivered to this subscription (snapshot waits). */
  waiters: Array<(outcome: FetchOutcome) => void> | undefined;

  constructor(
    readonly key: EntityKey,
    readonly keyString: KeyString,
    readonly entity: ResolvedEntity,
    readonly owner: Subscriber,
  ) {}

  /**
   * The one rule every value passes before it is written to a connection (whatever path fetched
   * it: subscribe, notify, secret change, resync): the subscription is active, `authorize`
   * allowed it under the connection's current secret, and the value comes from a fetch started
   * after that secret was set (so it was fetched with it).
   */
  mayReceive(seq: number): boolean {
    return this.state === 'active' && this.#grant === this.owner.generation && seq > this.seenSeq;
  }

  /** `authorize` allowed the key under the owner's secret of `generation`. */
  allow(generation: number): void {
    this.#grant = generation;
    this.settled = 'active';
    this.state = 'active';
  }

  /** `authorize` refused the key: held, receiving nothing until a new secret allows it. */
  forbid(): void {
    this.#grant = undefined;
    this.settled = 'forbidden';
    this.state = 'forbidden';
  }

  groupFor(owner: Subscriber): GroupId {
    switch (this.entity.scope) {
      case 'client':
        return owner.id;
      case 'secret':
        return owner.secret;
      case 'shared':
        return '';
    }
  }

  /** Resolves every waiter with `outcome`; returns false when there was none. */
  settle(outcome: FetchOutcome): boolean {
    const waiters = this.waiters;
    if (waiters === undefined) return false;
    this.waiters = undefined;
    for (const resolve of waiters) resolve(outcome);
    return true;
  }

  wait(resolve: (outcome: FetchOutcome) => void): void {
    (this.waiters ??= []).push(resolve);
  }
}

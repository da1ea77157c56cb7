import type { EncodedBatch } from './encode.js';
import type { EntityKey, KeyString } from './keys.js';
import type { ResolvedEntity } from './options.js';
import type { ErrorFrame, ProtocolMode } from './protocol.js';
import type { User } from './types.js';

/** Groups fetches for one key (design section 4): a client id, a secret, or `''` (shared). */
export type GroupId = string;

/**
 * Where one connection's subscription to one key stands:
 *
 * ```
 *            allow(gen)              secretChanged()
 * pending ───────────────▶ active ───────────────────▶ authorizing
 *    │ forbid()             ▲  │ forbid()                 │ allow(gen) / forbid()
 *    └──────▶ forbidden ◀───┼──┘◀─────────────────────────┘
 *                 │ allow   │
 *                 └─────────┘           any state ── remove() ──▶ removed
 * ```
 * - `pending`: subscribe in progress (authorize, bus confirmation); receives nothing yet.
 * - `authorizing`: the secret changed and `authorize` is re-running; receives nothing.
 * - `active`: receives values.
 * - `forbidden`: held but receives nothing until a secret change allows it.
 * - `removed`: unsubscribed or disconnected; final.
 */
export type SubscriptionState = 'pending' | 'authorizing' | 'active' | 'forbidden' | 'removed';

/** What a subscribe waiting for its snapshot learns: sent, or why not. */
export type SnapshotOutcome = { ok: true } | { ok: false; code: 'FETCH_FAILED' | 'FETCH_TIMEOUT' | 'FORBIDDEN' };

/** Who holds subscriptions: a client connection (or, later, server code). */
export interface Subscriber {
  readonly id: string;
  readonly secret: string;
  /** Counts the secret changes; an authorization holds for one generation only. */
  readonly generation: number;
  /** What `identify` returned for the current secret; `null` when anonymous or not yet known. */
  readonly user: User | null;
  /** Pending while `identify` runs for the current secret; `undefined` once the user is known. */
  readonly identity: Promise<void> | undefined;
  /** The secret expired and no new one came: nothing may be granted. */
  readonly expired?: boolean;
  readonly protocol: ProtocolMode;
  /** Its subscriptions by key; written by the node only, as it adds and removes them. */
  readonly subscriptions: Map<KeyString, Subscription>;
  /** Writes the values of one fetch for `sub`. */
  sendValues(sub: Subscription, batch: EncodedBatch): void;
  /** Writes an error frame (v1; legacy clients hear nothing). */
  sendError(error: ErrorFrame): void;
}

const SENT: SnapshotOutcome = { ok: true };

/**
 * One connection's subscription to one key, as an explicit state machine: its state changes
 * only through the transition methods below, and {@link mayReceive} is the one rule every value
 * passes before it is written to the connection.
 */
export class Subscription {
  #state: SubscriptionState = 'pending';
  /** The owner's secret generation under which `authorize` last allowed the key. */
  #grant: number | undefined;
  /** The last settled answer of `authorize`, to tell a client only when a key becomes forbidden. */
  #settled: 'allowed' | 'forbidden' | undefined;
  /** Values from fetches with a sequence number at or below this are never delivered. */
  #seenSeq = 0;
  /** Fingerprint of the last values sent (v1), to skip sending the same bytes again. */
  #lastSent: number | undefined;
  /** Identifies the latest re-authorization; older runs give way. */
  #authRun = 0;
  /** Called on the next outcome delivered to this subscription (a subscribe awaiting its snapshot). */
  #waiters: Array<(outcome: SnapshotOutcome) => void> | undefined;
  /** Fetch group; kept in step with the owner's secret by the registry. */
  group: GroupId = '';

  constructor(
    readonly key: EntityKey,
    readonly keyString: KeyString,
    readonly entity: ResolvedEntity,
    readonly owner: Subscriber,
  ) {}

  get state(): SubscriptionState {
    return this.#state;
  }

  get removed(): boolean {
    return this.#state === 'removed';
  }

  /**
   * The one rule every value passes before it is written to a connection (whatever path fetched
   * it: subscribe, notify, secret change, resync): the subscription is active, `authorize`
   * allowed it under the connection's current secret, and the value comes from a fetch started
   * after that secret was set (so it was fetched with it).
   */
  mayReceive(seq: number): boolean {
    return this.#state === 'active' && this.#grant === this.owner.generation && seq > this.#seenSeq;
  }

  /** Takes fetch `seq`'s values: older fetches can no longer deliver. */
  received(seq: number): void {
    this.#seenSeq = seq;
  }

  /** The client says it holds values with `fingerprint` (a resume): equal values are not sent. */
  seed(fingerprint: number): void {
    this.#lastSent = fingerprint;
  }

  /** The fingerprint of the values sent last (or that the client said it holds), if known. */
  get held(): number | undefined {
    return this.#lastSent;
  }

  /** Whether values with `fingerprint` are the ones sent last; remembers them if not. */
  repeats(fingerprint: number): boolean {
    if (this.#lastSent === fingerprint) return true;
    this.#lastSent = fingerprint;
    return false;
  }

  // Transitions ---------------------------------------------------------------------------

  /**
   * `authorize` allowed the key under the owner's secret of `generation`; values flow from
   * fetches started after `seq` (and after the last secret change).
   */
  allow(generation: number, seq = 0): void {
    if (this.#state === 'removed') return;
    this.#grant = generation;
    this.#settled = 'allowed';
    this.#state = 'active';
    this.#seenSeq = Math.max(this.#seenSeq, seq);
  }

  /**
   * `authorize` refused the key: held, receiving nothing until a new secret allows it. Returns
   * whether it was forbidden already (the client was told then).
   */
  forbid(): boolean {
    if (this.#state === 'removed') return true;
    const already = this.#settled === 'forbidden';
    this.#grant = undefined;
    this.#settled = 'forbidden';
    this.#lastSent = undefined;
    this.#state = 'forbidden';
    this.#settle({ ok: false, code: 'FORBIDDEN' });
    return already;
  }

  /**
   * The owner's secret changed at fetch sequence `seq`: older fetches are void, and (when the
   * entity has an `authorize` hook, or `identify` runs for the new secret) nothing flows until
   * they answered. Returns the number
   * identifying this re-authorization run.
   */
  secretChanged(seq: number, identifying: boolean): number {
    this.#seenSeq = Math.max(this.#seenSeq, seq);
    const wait = identifying || this.entity.authorize !== undefined;
    if (wait && this.#state !== 'pending' && this.#state !== 'removed') this.#state = 'authorizing';
    return ++this.#authRun;
  }

  /** Whether `run` (from {@link secretChanged}) is still the latest re-authorization. */
  isLatestRun(run: number): boolean {
    return run === this.#authRun && this.#state !== 'removed';
  }

  /** Unsubscribed or disconnected: final. A subscribe still waiting for its snapshot returns. */
  remove(): void {
    this.#state = 'removed';
    this.#settle(SENT);
  }

  // Snapshot waits ------------------------------------------------------------------------

  /** Resolves with the outcome of the next value (or failure) delivered to this subscription. */
  next(): Promise<SnapshotOutcome> {
    return new Promise((resolve) => (this.#waiters ??= []).push(resolve));
  }

  /** Tells waiters what happened; returns false when nobody waited. */
  settle(outcome: SnapshotOutcome): boolean {
    return this.#settle(outcome);
  }

  #settle(outcome: SnapshotOutcome): boolean {
    const waiters = this.#waiters;
    if (waiters === undefined) return false;
    this.#waiters = undefined;
    for (const resolve of waiters) resolve(outcome);
    return true;
  }
}

/** The fetch group of `owner`'s subscription to an entity of `scope`. */
export function groupOf(scope: ResolvedEntity['scope'], owner: Subscriber): GroupId {
  switch (scope) {
    case 'client':
      return owner.id;
    case 'secret':
      return owner.secret;
    case 'user':
      return owner.user === null ? '' : `u:${owner.user.id}`;
    case 'shared':
      return '';
  }
}

import type { BusInterest } from './bus-interest.js';
import { type EncodedBatch, EncodedValue } from './encode.js';
import { EntitySyncError, type WireErrorCode } from './errors.js';
import type { FetchResult, FetchScheduler } from './fetch-scheduler.js';
import { type EntityKey, keyString } from './keys.js';
import type { ResolvedEntity } from './options.js';
import { congested, Outbox } from './outbox.js';
import {
  type ClientMessage,
  CloseCode,
  CONNECTED_FRAME,
  type ErrorFrame,
  type KeyEntry,
  type ProtocolMode,
  type Ref,
  ackFrame,
  errorFrame,
  parseClientMessage,
} from './protocol.js';
import { type FetchOutcome, type Subscriber, Subscription } from './subscription.js';
import type { SubscriptionIndex } from './subscription-index.js';
import type { AcceptOptions, AuthorizeHandler, ClientId, ConnectionHandle, ErrorContext, SocketLike } from './types.js';

/** What a connection needs from its bridge. */
export interface Hub {
  readonly index: SubscriptionIndex;
  readonly interest: BusInterest;
  readonly scheduler: FetchScheduler;
  readonly busTimeoutMs: number;
  /** v1: do not resend a value whose bytes equal the last one sent for that key. */
  readonly skipUnchanged: boolean;
  entity(name: string): ResolvedEntity | undefined;
  subject(key: EntityKey): string;
  report(error: EntitySyncError, ctx: ErrorContext): void;
  forget(connection: Connection): void;
}

const OK: FetchOutcome = { ok: true };
const decoder = new TextDecoder();

/** One client connection: parses its frames, runs its subscriptions, writes its frames. */
export class Connection implements Subscriber, ConnectionHandle {
  secret: string;
  readonly protocol: ProtocolMode;
  readonly #subs = new Map<string, Subscription>();
  readonly #maxSubscriptions: number;
  /** Made when the socket first falls behind; until then frames go straight out. */
  #outbox: Outbox | undefined;
  #generation = 0;
  #open = true;

  constructor(
    readonly id: ClientId,
    private readonly socket: SocketLike,
    private readonly hub: Hub,
    private readonly options: AcceptOptions,
    secret: string,
  ) {
    this.protocol = options.protocol;
    this.secret = secret;
    this.#maxSubscriptions = options.maxSubscriptions ?? 1000;
    if (this.protocol === 'v1') this.#send(CONNECTED_FRAME);
  }

  receive(data: string | Uint8Array): void {
    if (!this.#open) return;
    const text = typeof data === 'string' ? data : decoder.decode(data);
    const parsed = parseClientMessage(text, this.protocol);
    if (!parsed.ok) {
      this.#sendError(parsed.error);
      return;
    }
    this.#handle(parsed.message).catch((cause: unknown) => {
      this.hub.report(EntitySyncError.from(cause), { clientId: this.id });
      this.#sendError({ code: 'INTERNAL', message: 'internal error', ...refOf(parsed.message) });
    });
  }

  /** The outbox passed its limits: the client reads too slowly. */
  overflowed(): void {
    this.close(CloseCode.SlowConsumer, 'client too slow: send buffer over the limit');
  }

  drained(): void {
    if (this.#open) this.#outbox?.drain();
  }

  closed(): void {
    if (!this.#open) return;
    this.#open = false;
    for (const sub of this.#subs.values()) this.#drop(sub);
    this.hub.forget(this);
  }

  /** Closes the socket from the server side. */
  close(code: number, reason: string): void {
    this.socket.close(code, reason);
    this.closed();
  }

  /** Counts secret changes: an authorization is good for the generation it was given under. */
  get generation(): number {
    return this.#generation;
  }

  push(sub: Subscription, seq: number, result: FetchResult): void {
    if (!sub.mayReceive(seq)) return;
    sub.seenSeq = seq;
    if (result.ok) this.#pushBatch(sub, result.batch);
    const outcome: FetchOutcome = result.ok ? OK : { ok: false, code: result.code };
    if (!sub.settle(outcome) && !result.ok) this.#sendKeyError(sub.key, result.code);
  }

  #pushBatch(sub: Subscription, batch: EncodedBatch): void {
    if (this.protocol === 'v1' && this.hub.skipUnchanged && batch.values.length > 0) {
      if (sub.lastSent === batch.fingerprint) return;
      sub.lastSent = batch.fingerprint;
    }
    if (batch.values.length > 0) this.#write(sub.keyString, batch.frames(this.protocol));
  }

  async #handle(message: ClientMessage): Promise<void> {
    switch (message.action) {
      case 'subscribe':
        return this.#reply(message.ref, await Promise.all(message.keys.map((k) => this.#subscribeEntry(k))));
      case 'unsubscribe':
        return this.#reply(
          message.ref,
          message.keys.map((k) => this.#unsubscribeEntry(k)),
        );
      case 'secret':
        this.#setSecret(message.secret);
        return this.#reply(message.ref, []);
      case 'passthrough':
        return this.#passThrough(message.message, message.ref);
    }
  }

  /** Sends one error per failed key, then the ack unless every key failed. */
  #reply(ref: Ref | undefined, results: Array<ErrorFrame | undefined>): void {
    let failed = 0;
    for (const error of results) {
      if (error === undefined) continue;
      failed++;
      this.#sendError(ref === undefined ? error : { ...error, ref });
    }
    if (ref !== undefined && (failed === 0 || failed < results.length)) this.#send(ackFrame(ref));
  }

  #subscribeEntry(entry: KeyEntry): Promise<ErrorFrame | undefined> | ErrorFrame | undefined {
    if (!entry.ok) return invalidKey(entry);
    const { key } = entry;
    const entity = this.hub.entity(key.entity);
    if (entity === undefined) {
      return { code: 'UNKNOWN_ENTITY', message: `no entity type "${key.entity}" is registered`, ...key };
    }
    const existing = this.#subs.get(keyString(key));
    if (existing !== undefined) return this.#resubscribe(existing);
    if (this.#subs.size >= this.#maxSubscriptions) {
      return { code: 'TOO_MANY_SUBSCRIPTIONS', message: `at most ${this.#maxSubscriptions} subscriptions per connection`, ...key };
    }
    return this.#subscribe(new Subscription(key, keyString(key), entity, this));
  }

  async #subscribe(sub: Subscription): Promise<ErrorFrame | undefined> {
    this.#subs.set(sub.keyString, sub);
    this.hub.index.add(sub);
    let [decision, bus] = await Promise.all([this.#authorize(sub), this.#confirmBus(sub)]);
    // The secret changed after `authorize` answered (while the bus confirmation was pending):
    // that answer was for an older secret, so ask again for the current one.
    while (sub.state !== 'removed' && !(decision instanceof Error) && decision.generation !== this.#generation) {
      decision = await this.#authorize(sub);
    }
    if (sub.state === 'removed') return undefined;
    if (bus !== undefined) {
      this.#drop(sub);
      return bus;
    }
    if (decision instanceof Error) {
      this.#drop(sub);
      return this.#hookFailed(sub.key, decision);
    }
    const allowed = this.#settle(sub, decision);
    if (!allowed) {
      sub.settle({ ok: false, code: 'FORBIDDEN' }); // a second subscribe may be waiting
      return forbidden(sub.key);
    }
    sub.seenSeq = this.hub.scheduler.seq;
    return this.protocol === 'v1' ? this.#snapshot(sub) : undefined;
  }

  #resubscribe(sub: Subscription): Promise<ErrorFrame | undefined> | undefined {
    if (this.protocol === 'legacy') return undefined;
    if (sub.state === 'forbidden') return Promise.resolve(forbidden(sub.key));
    return this.#snapshot(sub);
  }

  /** Fetches for `sub` and waits until the result (or why there is none) was sent. */
  async #snapshot(sub: Subscription): Promise<ErrorFrame | undefined> {
    const outcome = await new Promise<FetchOutcome>((resolve) => {
      sub.wait(resolve);
      if (sub.state === 'active') this.hub.scheduler.request(sub.keyString, sub.group);
    });
    if (outcome.ok) return undefined;
    return outcome.code === 'FORBIDDEN' ? forbidden(sub.key) : fetchError(sub.key, outcome.code);
  }

  /** Holds the key's bus subscription; settles when the broker confirmed it, or with why not. */
  #confirmBus(sub: Subscription): ErrorFrame | undefined | Promise<ErrorFrame | undefined> {
    const acquired = this.hub.interest.acquire(this.hub.subject(sub.key));
    if (acquired === undefined) return undefined; // already confirmed for another subscriber
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        resolve({ code: 'UNAVAILABLE', message: 'the bus did not confirm the subscription in time', ...sub.key });
      }, this.hub.busTimeoutMs);
      acquired.then(
        () => {
          clearTimeout(timer);
          resolve(undefined);
        },
        (cause: unknown) => {
          clearTimeout(timer);
          this.hub.report(new EntitySyncError('UNAVAILABLE', 'bus subscribe failed', { cause }), { clientId: this.id, key: sub.key });
          resolve({ code: 'UNAVAILABLE', message: 'the bus could not confirm the subscription', ...sub.key });
        },
      );
    });
  }

  /**
   * Asks `authorize` for the current secret; retries when the secret changed while it ran. The
   * answer names the secret generation it holds for.
   */
  #authorize(sub: Subscription): Decision | Promise<Decision | Error> {
    const hook = sub.entity.authorize;
    return hook === undefined ? { allowed: true, generation: this.#generation } : this.#askAuthorize(sub, hook);
  }

  async #askAuthorize(sub: Subscription, hook: AuthorizeHandler): Promise<Decision | Error> {
    for (;;) {
      const generation = this.#generation;
      let allowed: boolean;
      try {
        allowed = (await hook(sub.key, { secret: this.secret, clientId: this.id })) === true;
      } catch (cause) {
        return cause instanceof Error ? cause : new Error(String(cause));
      }
      if (generation === this.#generation) return { allowed, generation };
    }
  }

  /** Applies an authorization decision to `sub`; returns whether it allowed the key. */
  #settle(sub: Subscription, decision: Decision): boolean {
    if (decision.allowed) sub.allow(decision.generation);
    else sub.forbid();
    return decision.allowed;
  }

  #unsubscribeEntry(entry: KeyEntry): ErrorFrame | undefined {
    if (!entry.ok) return invalidKey(entry);
    const sub = this.#subs.get(keyString(entry.key));
    if (sub !== undefined) this.#drop(sub);
    return undefined;
  }

  #drop(sub: Subscription): void {
    sub.state = 'removed';
    this.#subs.delete(sub.keyString);
    this.hub.index.remove(sub);
    this.hub.interest.release(this.hub.subject(sub.key));
    sub.settle(OK);
  }

  /**
   * A new secret: every authorization given so far lapses (values stop at once, see
   * `Subscription.mayReceive`), older fetches are void, values waiting in the outbox are
   * dropped, and keys are re-authorized and fetched again.
   */
  #setSecret(secret: string): void {
    this.secret = secret;
    this.#generation++;
    this.#outbox?.dropValues();
    const seq = this.hub.scheduler.seq;
    for (const sub of this.#subs.values()) {
      this.hub.index.regroup(sub);
      sub.seenSeq = seq;
      if (sub.state === 'pending') continue; // its subscribe asks `authorize` again by itself
      void this.#reauthorize(sub);
    }
  }

  async #reauthorize(sub: Subscription): Promise<void> {
    const run = ++sub.authRun;
    const was = sub.settled;
    if (sub.entity.authorize !== undefined) sub.state = 'authorizing';
    const pending = this.#authorize(sub);
    const decision = pending instanceof Promise ? await pending : pending;
    if (sub.state === 'removed' || run !== sub.authRun) return;
    if (decision instanceof Error) {
      this.#drop(sub);
      this.#sendError(this.#hookFailed(sub.key, decision));
      return;
    }
    const allowed = this.#settle(sub, decision);
    if (!allowed) {
      sub.lastSent = undefined;
      sub.settle({ ok: false, code: 'FORBIDDEN' });
      if (was !== 'forbidden') this.#sendError(forbidden(sub.key));
    } else if (this.protocol === 'v1') {
      this.hub.scheduler.request(sub.keyString, sub.group);
    }
  }

  async #passThrough(message: unknown, ref: Ref | undefined): Promise<void> {
    const hook = this.options.onPassThrough;
    if (hook === undefined) {
      this.#sendError({ code: 'BAD_MESSAGE', message: 'message has no action', ...(ref === undefined ? {} : { ref }) });
      return;
    }
    try {
      await hook(message, {
        clientId: this.id,
        secret: this.secret,
        protocol: this.protocol,
        reply: (value) => this.#sendReply(value),
      });
    } catch (cause) {
      this.hub.report(new EntitySyncError('INTERNAL', 'pass-through hook threw', { cause }), { clientId: this.id });
      this.#sendError({ code: 'INTERNAL', message: 'internal error', ...(ref === undefined ? {} : { ref }) });
      return;
    }
    this.#reply(ref, []);
  }

  #sendReply(value: unknown): void {
    if (value === undefined) return;
    const encoded = new EncodedValue(value, '{"type":"message","data":');
    this.#send(this.protocol === 'v1' ? encoded.v1Frame() : encoded.legacyFrame());
  }

  #hookFailed(key: EntityKey, cause: Error): ErrorFrame {
    this.hub.report(new EntitySyncError('INTERNAL', `authorize for ${keyString(key)} threw`, { cause }), { clientId: this.id, key });
    return { code: 'INTERNAL', message: 'internal error', ...key };
  }

  #sendKeyError(key: EntityKey, code: WireErrorCode): void {
    this.#sendError(code === 'FORBIDDEN' ? forbidden(key) : fetchError(key, code));
  }

  /** Error frames exist in v1 only; legacy clients hear nothing, as with the Go library. */
  #sendError(error: ErrorFrame): void {
    if (this.protocol === 'v1') this.#send(errorFrame(error));
  }

  #send(frame: string | Uint8Array): void {
    this.#write(undefined, [frame]);
  }

  /**
   * Writes straight to the socket while it keeps up; the first time it falls behind, the
   * connection gets an outbox (backpressure), which then takes every write.
   */
  #write(key: string | undefined, frames: readonly (string | Uint8Array)[]): void {
    if (!this.#open) return;
    if (this.#outbox === undefined && !congested(this.socket, this.options)) {
      for (const frame of frames) this.socket.send(frame);
      return;
    }
    this.#outbox ??= new Outbox(this.socket, this.options, this);
    this.#outbox.send(key, frames);
  }
}

/** An answer of `authorize`, and the secret generation it was given under. */
interface Decision {
  allowed: boolean;
  generation: number;
}

function refOf(message: ClientMessage): { ref?: Ref } {
  return message.ref === undefined ? {} : { ref: message.ref };
}

function invalidKey(entry: Extract<KeyEntry, { ok: false }>): ErrorFrame {
  const { problem, entity, id } = entry;
  return { code: 'INVALID_KEY', message: problem, ...(entity === undefined ? {} : { entity }), ...(id === undefined ? {} : { id }) };
}

function forbidden(key: EntityKey): ErrorFrame {
  return { code: 'FORBIDDEN', message: `not allowed to subscribe to ${key.entity}/${key.id}`, ...key };
}

function fetchError(key: EntityKey, code: WireErrorCode): ErrorFrame {
  const message = code === 'FETCH_TIMEOUT' ? 'fetching the entity timed out' : 'fetching the entity failed';
  return { code, message, ...key };
}

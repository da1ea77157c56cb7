import { type EncodedBatch, EncodedValue } from './encode.js';
import { EntitySyncError } from './errors.js';
import type { KeyString } from './keys.js';
import type { Node } from './node.js';
import { congested, type Frame, Outbox } from './outbox.js';
import {
  ackFrame,
  type ClientMessage,
  CloseCode,
  CONNECTED_FRAME,
  type ErrorFrame,
  errorFrame,
  parseClientMessage,
  type ProtocolMode,
  type Ref,
} from './protocol.js';
import type { Subscriber, Subscription } from './subscription.js';
import type { ClientId, ConnectionHandle, SocketLike, User } from './types.js';

const decoder = new TextDecoder();

/**
 * One client connection: parses its frames, hands each message to the node, and writes the
 * replies and values to its socket (straight through while the socket keeps up, through an
 * outbox once it falls behind). The node owns what its subscriptions do.
 */
export class Connection implements Subscriber, ConnectionHandle {
  secret: string;
  user: User | null = null;
  identity: Promise<void> | undefined;
  readonly subscriptions = new Map<KeyString, Subscription>();
  /** Made when the socket first falls behind; until then frames go straight out. */
  #outbox: Outbox | undefined;
  #generation = 0;
  #open = true;
  /** The rate limit's token bucket: tokens left, and when they were last counted. */
  #tokens: number;
  #countedAt = Date.now();
  #expiry: NodeJS.Timeout | undefined;
  /** Between the secret's expiry and the next secret: nothing may be granted. */
  expired = false;
  /** v1: the client said (on a subscribe) it applies delta frames. */
  deltas = false;

  constructor(
    readonly id: ClientId,
    private readonly socket: SocketLike,
    private readonly node: Node,
    readonly protocol: ProtocolMode,
    secret: string,
    expiresAt?: number,
  ) {
    this.secret = secret;
    const { rateLimit } = node.options;
    this.#tokens = rateLimit === false ? 0 : rateLimit.burst;
    if (protocol === 'v1') this.#send(CONNECTED_FRAME);
    if (expiresAt !== undefined) this.#expireAt(expiresAt);
  }

  /** Counts secret changes: an authorization is good for the generation it was given under. */
  get generation(): number {
    return this.#generation;
  }

  /** `identify` runs for the current secret: subscribes and authorizations wait for `pending`. */
  identifying(pending: Promise<void>): void {
    this.identity = pending;
  }

  /** `identify` answered for the secret of `generation`; false if that secret was replaced since. */
  identified(generation: number, user: User | null): boolean {
    if (generation !== this.#generation) return false;
    this.user = user;
    this.identity = undefined;
    return true;
  }

  // Inbound ---------------------------------------------------------------------------------

  receive(data: string | Uint8Array): void {
    if (!this.#open) return;
    const text = typeof data === 'string' ? data : decoder.decode(data);
    const parsed = parseClientMessage(text, this.protocol);
    if (!this.#admit()) {
      this.sendError({ code: 'RATE_LIMITED', message: 'too many messages: slow down', ...(parsed.ok ? refOf(parsed.message) : {}) });
      return;
    }
    if (!parsed.ok) {
      this.sendError(parsed.error);
      return;
    }
    this.#handle(parsed.message).catch((cause: unknown) => {
      this.node.report(EntitySyncError.from(cause), { clientId: this.id });
      this.sendError({ code: 'INTERNAL', message: 'internal error', ...refOf(parsed.message) });
    });
  }

  async #handle(message: ClientMessage): Promise<void> {
    switch (message.action) {
      case 'subscribe':
        if (message.deltas !== undefined) this.deltas = message.deltas;
        return this.#reply(message.ref, await Promise.all(message.keys.map((k) => this.node.subscribeEntry(this, k))));
      case 'unsubscribe':
        return this.#reply(
          message.ref,
          message.keys.map((k) => this.node.unsubscribe(this, k)),
        );
      case 'secret':
        this.#setSecret(message.secret);
        this.#expireAt(message.expiresAt);
        this.#reply(message.ref, []);
        return this.node.secretChanged(this); // values fetched with the new secret follow the ack
      case 'passthrough':
        return this.#passThrough(message.message, message.ref);
    }
  }

  /**
   * A new secret: every authorization given so far lapses at once (the generation moves, see
   * `Subscription.mayReceive`), and values waiting in the outbox were fetched with the old
   * secret, so they are dropped. The node then authorizes and fetches the keys again.
   */
  #setSecret(secret: string): void {
    this.secret = secret;
    this.expired = false;
    this.user = null; // until `identify` answers for the new secret
    this.identity = undefined;
    this.#generation++;
    this.#outbox?.dropValues();
  }

  /** Takes a token from the rate limit's bucket; false when it is empty. */
  #admit(): boolean {
    const limit = this.node.options.rateLimit;
    if (limit === false) return true;
    const now = Date.now();
    this.#tokens = Math.min(limit.burst, this.#tokens + ((now - this.#countedAt) * limit.perSecond) / 1000);
    this.#countedAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /** The current secret expires at `at` (ms since the epoch); `undefined`: it does not. */
  #expireAt(at: number | undefined): void {
    clearTimeout(this.#expiry);
    this.#expiry = undefined;
    if (at === undefined) return;
    // Timers take at most 2^31-1 ms; a later expiry re-arms itself.
    const wait = Math.min(at - Date.now(), 2 ** 31 - 1);
    this.#expiry = setTimeout(() => (Date.now() >= at ? this.#expire() : this.#expireAt(at)), Math.max(0, wait));
    this.#expiry.unref();
  }

  /** The secret expired: nothing flows until a new one arrives. */
  #expire(): void {
    this.#expiry = undefined;
    if (!this.#open) return;
    this.expired = true;
    this.#generation++;
    this.#outbox?.dropValues();
    this.user = null;
    this.sendError({ code: 'SECRET_EXPIRED', message: 'the secret expired: send a new one' });
    this.node.secretExpired(this);
  }

  /**
   * `reauthorize`: as a secret change to the same secret. Grants lapse at once, values waiting
   * are dropped, then the node identifies and authorizes the keys again.
   */
  renew(): void {
    if (!this.#open) return;
    this.#setSecret(this.secret);
    this.node.secretChanged(this);
  }

  async #passThrough(message: unknown, ref: Ref | undefined): Promise<void> {
    const hook = this.node.options.onPassThrough;
    if (hook === undefined) {
      this.sendError({ code: 'BAD_MESSAGE', message: 'message has no action', ...(ref === undefined ? {} : { ref }) });
      return;
    }
    try {
      await hook(message, { clientId: this.id, secret: this.secret, protocol: this.protocol, reply: (value) => this.#sendReply(value) });
    } catch (cause) {
      this.node.report(new EntitySyncError('INTERNAL', 'pass-through hook threw', { cause }), { clientId: this.id });
      this.sendError({ code: 'INTERNAL', message: 'internal error', ...(ref === undefined ? {} : { ref }) });
      return;
    }
    this.#reply(ref, []);
  }

  // Outbound --------------------------------------------------------------------------------

  /** Sends one error per failed key, then the ack unless every key failed. */
  #reply(ref: Ref | undefined, results: Array<ErrorFrame | undefined>): void {
    let failed = 0;
    for (const error of results) {
      if (error === undefined) continue;
      failed++;
      this.sendError(ref === undefined ? error : { ...error, ref });
    }
    if (ref !== undefined && (failed === 0 || failed < results.length)) this.#send(ackFrame(ref));
  }

  sendValues(sub: Subscription, batch: EncodedBatch): void {
    if (batch.values.length === 0) return;
    if (this.protocol === 'v1') {
      const held = sub.held;
      if (sub.repeats(batch.fingerprint) && this.node.options.skipUnchanged) return;
      const delta = this.#deltaFor(batch, held);
      if (delta !== undefined) return this.#write(sub.keyString, [delta]);
    }
    this.#write(sub.keyString, batch.frames(this.protocol));
  }

  /**
   * The delta frame to send instead of `batch` to a client holding `held`, if it asked for
   * deltas and reads fast enough: a delta waiting in the outbox could be replaced by a later one
   * (conflation), which the client could not apply.
   */
  #deltaFor(batch: EncodedBatch, held: number | undefined): string | undefined {
    if (!this.deltas || batch.delta === undefined) return undefined;
    if (this.#outbox === undefined ? congested(this.socket, this.node.options) : !this.#outbox.idle) return undefined;
    const frame = batch.delta.frameFor(held);
    if (frame !== undefined) this.node.counters.deltaFramesSent++;
    return frame;
  }

  /** Error frames exist in v1 only; legacy clients hear nothing, as with the Go library. */
  sendError(error: ErrorFrame): void {
    if (this.protocol === 'v1') this.#send(errorFrame(error));
  }

  #sendReply(value: unknown): void {
    if (value === undefined) return;
    const encoded = new EncodedValue(value, '{"type":"message","data":');
    this.#send(this.protocol === 'v1' ? encoded.v1Frame() : encoded.legacyFrame());
  }

  #send(frame: Frame): void {
    this.#write(undefined, [frame]);
  }

  /**
   * Writes straight to the socket while it keeps up; the first time it falls behind, the
   * connection gets an outbox (backpressure), which then takes every write.
   */
  #write(key: KeyString | undefined, frames: readonly Frame[]): void {
    if (!this.#open) return;
    const limits = this.node.options;
    const counters = this.node.counters;
    if (this.#outbox === undefined && !congested(this.socket, limits)) {
      for (const frame of frames) {
        this.socket.send(frame);
        counters.framesSent++;
        counters.bytesSent += typeof frame === 'string' ? frame.length : frame.byteLength;
      }
      return;
    }
    this.#outbox ??= new Outbox(this.socket, limits, this, counters);
    this.#outbox.send(key, frames);
  }

  // Lifecycle -------------------------------------------------------------------------------

  /** The outbox passed its limits: the client reads too slowly. */
  overflowed(): void {
    this.close(CloseCode.SlowConsumer, 'client too slow: send buffer over the limit');
  }

  drained(): void {
    if (this.#open) this.#outbox?.drain();
  }

  closed(code?: number): void {
    if (!this.#open) return;
    this.#open = false;
    clearTimeout(this.#expiry);
    this.node.disconnected(this, code);
  }

  /** Closes the socket from the server side. */
  close(code: number, reason: string): void {
    this.socket.close(code, reason);
    this.closed(code);
  }
}

function refOf(message: ClientMessage): { ref?: Ref } {
  return message.ref === undefined ? {} : { ref: message.ref };
}

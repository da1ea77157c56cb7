import { CLOSE_RETRY, type CloseCode, keyString, PROTOCOL_V1, valueFingerprint } from '@entity-sync/protocol';
import { backoffDelay } from './backoff.js';
import { Emitter, rethrowLater } from './emitter.js';
import { ClientError, type ClientErrorCode, HELD_CODES, retried } from './errors.js';
import { resumeKey, toKey, wireKey } from './key.js';
import { type Ref, Subscription, type Watcher } from './subscriptions.js';
import type {
  ClientOptions,
  ConnectionState,
  EntityKey,
  EntityMap,
  EntityName,
  KeyOf,
  Listener,
  SecretSource,
  StateDetail,
  ValueOf,
  WebSocketConstructor,
  WebSocketLike,
} from './types.js';
import { type Source, type WatchOptions, watchKey } from './watch.js';

/** The WebSocket subprotocol of the v1 protocol. */
export const PROTOCOL = PROTOCOL_V1;
/** Keys per subscribe frame are cut into frames of at most this many characters. */
const MAX_BATCH_CHARS = 32 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const OPEN = 1;

/** Events of {@link Client.on}. */
export interface ClientEvents {
  /** The connection state changed, or (in `reconnecting`) another attempt was scheduled. */
  state: (state: ConnectionState, detail: StateDetail) => void;
  /** An error not tied to one key, or a per-key error whose watcher has no error callback. */
  error: (error: ClientError) => void;
  /**
   * The server said the secret expired (`SECRET_EXPIRED`): no data flows until a new secret is
   * sent, by `setSecret` or, when the `secret` option is a function, by the client itself.
   */
  secretExpired: () => void;
}

/** A live connection to an entity-sync server; see {@link createClient}. */
export interface Client<E extends EntityMap = EntityMap> {
  /** The current connection state. */
  readonly state: ConnectionState;
  /**
   * Calls `listener` with the key's current value and then with every change. Watchers of one key
   * share one server subscription; the returned function stops this watcher (idempotent).
   * Per-key errors go to `onError`, or to the `error` event when it is absent.
   */
  subscribe<N extends EntityName<E>>(
    key: KeyOf<E, N>,
    listener: Listener<ValueOf<E[N]>, N>,
    onError?: (error: ClientError) => void,
  ): () => void;
  /** The key's values as an async iterator; leaving the loop unsubscribes. */
  watch<N extends EntityName<E>>(key: KeyOf<E, N>, options?: WatchOptions): AsyncIterableIterator<ValueOf<E[N]> | null>;
  /** Sends a new secret now (or on the next connection); the server re-authorizes and re-fetches every key. `null` clears it. */
  setSecret(secret: string | null): void;
  /** Listens to `state`, `error` or `secretExpired`; returns the function that removes the listener. */
  on<Ev extends keyof ClientEvents>(event: Ev, listener: ClientEvents[Ev]): () => void;
  /** Closes the connection for good (code 1000) and ends every `watch` iterator. */
  close(): Promise<void>;
}

interface Pending {
  action: 'subscribe' | 'unsubscribe' | 'secret';
  keys: Set<string>;
}

/** A server frame as read off the wire (`ServerFrame` of `@entity-sync/protocol`, unchecked). */
interface ServerFrame {
  type?: unknown;
  ref?: Ref;
  entity?: string;
  id?: string;
  data?: unknown;
  code?: ClientErrorCode;
  message?: string;
  protocol?: unknown;
  fp?: unknown;
  ops?: unknown;
}

/**
 * Creates a client and starts connecting at once. The client reconnects by itself (exponential
 * backoff with full jitter; after a random 0 to `reconnectJitterMs` after close code 1001 or
 * 1012; never sooner than a 503's `Retry-After`), and on every (re)open sends the secret, then all
 * its keys in one batch, each with the fingerprint of the value it holds.
 */
export function createClient<E extends EntityMap = EntityMap>(options: ClientOptions): Client<E> {
  return new EntitySyncClient<E>(options);
}

class EntitySyncClient<E extends EntityMap> implements Client<E> {
  state: ConnectionState = 'connecting';
  private readonly events = new Emitter<ClientEvents>();
  private readonly subs = new Map<string, Subscription>();
  private readonly pending = new Map<Ref, Pending>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly WS: WebSocketConstructor;
  private socket: WebSocketLike | undefined;
  private secret: string | null;
  private nextRef = 1;
  private attempt = 0;
  private refused: string | undefined;
  /** The `Retry-After` of the last refused upgrade, in ms (Node's `ws` only). */
  private retryAfter = 0;
  /** A `secret` function's answer being awaited: the replay of an open waits for it. */
  private loading: Promise<void> | undefined;
  /** The socket opened while `loading` ran. */
  private waiting = false;
  private toSubscribe = new Set<Subscription>();
  private toUnsubscribe: EntityKey[] = [];
  private flushQueued = false;

  constructor(private readonly options: ClientOptions) {
    const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WS) throw new TypeError('No WebSocket: pass the WebSocket option (Node 20: from "ws")');
    this.WS = WS;
    const { secret } = options;
    this.secret = typeof secret === 'string' ? secret : null;
    if (typeof secret === 'function') this.loadSecret(secret);
    this.connect();
  }

  subscribe<N extends EntityName<E>>(
    key: KeyOf<E, N>,
    listener: Listener<ValueOf<E[N]>, N>,
    onError?: (error: ClientError) => void,
  ): () => void {
    const full = toKey(key);
    const k = keyString(full);
    const watcher: Watcher = { listener: listener as Listener<unknown>, onError };
    let sub = this.subs.get(k);
    if (!sub) {
      sub = new Subscription(full);
      this.subs.set(k, sub);
      this.queueSubscribe(sub);
    } else if (sub.failed) {
      sub.failed = false;
      this.queueSubscribe(sub);
    } else {
      const joined = sub;
      queueMicrotask(() => joined.catchUp(watcher, this.onThrow) && this.report(joined.error!));
    }
    sub.watchers.add(watcher);
    const owner = sub;
    return () => this.unwatch(k, owner, watcher);
  }

  watch<N extends EntityName<E>>(key: KeyOf<E, N>, options: WatchOptions = {}): AsyncIterableIterator<ValueOf<E[N]> | null> {
    return watchKey(this as unknown as Source<ValueOf<E[N]>>, toKey(key), options, (error) => this.report(error));
  }

  setSecret(secret: string | null): void {
    this.secret = secret;
    if (this.isOpen()) this.send('secret', secret, []);
  }

  on<Ev extends keyof ClientEvents>(event: Ev, listener: ClientEvents[Ev]): () => void {
    return this.events.on(event, listener);
  }

  close(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    this.setState('closed', {});
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const socket = this.socket;
    this.socket = undefined;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => {
      detach(socket);
      socket.onclose = () => resolve();
      socket.close(1000);
    });
  }

  // --- connection ------------------------------------------------------------------------

  private connect(): void {
    const { url } = this.options;
    this.refused = undefined;
    const socket = new this.WS(typeof url === 'function' ? url() : url, PROTOCOL);
    this.socket = socket;
    const timer = this.later(this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, () => {
      if (this.socket !== socket || socket.readyState === OPEN) return;
      detach(socket);
      socket.close();
      this.onClose(1006, 'connect timeout');
    });
    socket.onopen = () => {
      clearTimeout(timer);
      this.attempt = 0;
      this.setState('open', {});
      this.replay();
    };
    socket.onmessage = (event) => this.onFrame(event.data);
    socket.onerror = () => {}; // `ws` throws an error event nobody listens to; onclose follows it
    // Node's `ws` hands a refused upgrade's response to this listener (a browser shows nothing):
    // 401 and 403 stop the client, a 503's Retry-After delays the next attempt.
    (socket as Partial<UpgradeEvents>).on?.('unexpected-response', (_request, { statusCode, headers }) => {
      if (statusCode === 401 || statusCode === 403) this.refused = `Unexpected server response: ${statusCode}`;
      this.retryAfter = Number(headers['retry-after']) * 1000 || 0;
      socket.close();
    });
    socket.onclose = (event) => {
      clearTimeout(timer);
      if (this.socket === socket) this.onClose(event.code, event.reason);
    };
  }

  private onClose(code: number, reason: string): void {
    this.socket = undefined;
    this.waiting = false;
    this.pending.clear();
    this.toUnsubscribe = [];
    for (const sub of this.subs.values()) {
      sub.sent = false;
      sub.ref = undefined;
    }
    if (this.state === 'closed') return;
    const retry = CLOSE_RETRY[code as CloseCode] ?? 'backoff';
    if (this.refused !== undefined || retry === 'never') {
      this.setState('closed', { code, reason });
      this.report(new ClientError('UNAUTHORIZED', `connection refused: ${this.refused ?? `close code ${code} ${reason}`}`));
      return;
    }
    const spread = retry === 'at-once' && this.attempt === 0;
    const delay = Math.max(
      this.retryAfter,
      spread ? Math.round(Math.random() * (this.options.reconnectJitterMs ?? 1000)) : backoffDelay(this.attempt, this.options.retry),
    );
    this.retryAfter = 0;
    this.attempt++;
    this.setState('reconnecting', { code, reason, retryInMs: delay });
    this.later(delay, () => this.connect());
  }

  /** On every open: the secret first, then every key that is not known to have failed. */
  private replay(): void {
    this.waiting = this.loading !== undefined;
    if (this.waiting) return;
    this.toSubscribe.clear();
    this.toUnsubscribe = [];
    if (this.secret !== null) this.send('secret', this.secret, []);
    const keys: EntityKey[] = [];
    for (const sub of this.subs.values()) if (!sub.failed) keys.push(sub.key);
    this.sendKeys('subscribe', keys);
  }

  private setState(state: ConnectionState, detail: StateDetail): void {
    if (state === this.state && state !== 'reconnecting') return;
    this.state = state;
    this.events.emit('state', state, detail);
  }

  // --- outgoing --------------------------------------------------------------------------

  private queueSubscribe(sub: Subscription): void {
    this.toSubscribe.add(sub);
    this.queueFlush();
  }

  private unwatch(k: string, sub: Subscription, watcher: Watcher): void {
    if (!sub.watchers.delete(watcher) || sub.watchers.size > 0 || this.subs.get(k) !== sub) return;
    this.subs.delete(k);
    if (sub.sent) {
      this.toUnsubscribe.push(sub.key);
      this.queueFlush();
    }
  }

  /** Sends what changed in this tick as at most one unsubscribe and one subscribe batch. */
  private queueFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      if (!this.isOpen()) return;
      const unsubscribe = this.toUnsubscribe;
      const subscribe = [...this.toSubscribe].filter((s) => !s.sent && this.subs.get(keyString(s.key)) === s);
      this.toUnsubscribe = [];
      this.toSubscribe.clear();
      this.sendKeys('unsubscribe', unsubscribe);
      this.sendKeys(
        'subscribe',
        subscribe.map((s) => s.key),
      );
    });
  }

  /**
   * Sends keys in frames of at most `MAX_BATCH_CHARS`. A key subscribed while the client holds a
   * value carries that value's fingerprint (`fp`), computed here, not on every value received.
   */
  private sendKeys(action: 'subscribe' | 'unsubscribe', keys: EntityKey[]): void {
    let chunk: EntityKey[] = [];
    let size = 0;
    const flush = () => {
      if (chunk.length === 0) return;
      const subs: Subscription[] = [];
      const body = chunk.map((key) => {
        const sub = this.subs.get(keyString(key));
        if (action === 'unsubscribe' || !sub) return wireKey(key);
        subs.push(sub);
        sub.sent = true;
        sub.resuming = this.options.resume !== false && sub.last !== undefined;
        return sub.resuming ? resumeKey(key, sub.last!.value) : wireKey(key);
      });
      const ref = this.send(action, body, chunk.map(keyString));
      for (const sub of subs) sub.ref = ref;
      chunk = [];
      size = 0;
    };
    for (const key of keys) {
      const length = key.entity.length + key.id.length + 56;
      if (size + length > MAX_BATCH_CHARS) flush();
      chunk.push(key);
      size += length;
    }
    flush();
  }

  private send(action: Pending['action'], body: unknown, keys: string[]): Ref {
    const ref = this.nextRef++;
    this.pending.set(ref, { action, keys: new Set(keys) });
    // With the `deltas` option, every subscribe says the client applies delta frames.
    const deltas = (action === 'subscribe' && this.options.deltas !== undefined) || undefined;
    this.socket!.send(JSON.stringify({ action, body, ref, deltas }));
    return ref;
  }

  // --- incoming --------------------------------------------------------------------------

  private onFrame(data: unknown): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(data as string) as ServerFrame;
      if (typeof data !== 'string' || typeof frame !== 'object' || frame === null) throw 0;
    } catch {
      this.report(new ClientError('BAD_FRAME', 'the server sent a frame that is not a JSON object'));
      return;
    }
    const { type } = frame;
    if (type === 'data') {
      const sub = this.subs.get(keyString(frame as EntityKey));
      sub?.deliver(frame.data ?? null, sub.ref !== undefined, this.onThrow);
    } else if (type === 'delta') {
      // Applied to the value held; a result the server did not fingerprint asks for the whole value,
      // with the fingerprint of what the client really holds.
      const sub = this.subs.get(keyString(frame as EntityKey));
      let value: unknown;
      try {
        value = this.options.deltas!(sub!.last!.value, frame.ops as never[]);
      } catch {} // no value held, or ops that are not a delta
      if (sub && value !== undefined && valueFingerprint(value) === frame.fp) sub.deliver(value, sub.ref !== undefined, this.onThrow);
      else if (sub) sub.ref = this.send('subscribe', resumeKey(sub.key, sub.last?.value), [keyString(sub.key)]);
    } else if (type === 'ack') {
      this.onAck(frame.ref!);
    } else if (type === 'error') {
      this.onError(frame);
    } else if (type === 'connected' && frame.protocol !== 1) {
      this.report(new ClientError('BAD_FRAME', `unsupported protocol version ${String(frame.protocol)}`));
    }
  }

  private onAck(ref: Ref): void {
    const pending = this.pending.get(ref);
    this.pending.delete(ref);
    if (pending?.action !== 'subscribe') return;
    for (const k of pending.keys) {
      const sub = this.subs.get(k);
      if (sub?.ref === ref) {
        sub.ref = undefined;
        sub.retries = 0;
        // Resumed and no value came: the one held is current; listeners get it again as the snapshot.
        if (sub.resuming) sub.deliver(sub.last!.value, true, this.onThrow);
      }
    }
  }

  private onError(frame: ServerFrame): void {
    const { ref, entity, id } = frame;
    const key = entity !== undefined && id !== undefined ? { entity, id } : undefined;
    const error = new ClientError(frame.code ?? 'INTERNAL', frame.message ?? '', key);
    const pending = ref === undefined ? undefined : this.pending.get(ref);
    if (error.code === 'SECRET_EXPIRED') {
      // With a key: a subscribe after the expiry, which the server holds until the new secret
      // (the ack of the message's other keys must not hand its held value again as current).
      if (key) return void pending?.keys.delete(keyString(key));
      // Nothing flows until a new secret: a `secret` function is asked for it; without one the
      // `error` event hears of it too, since the application has to act.
      const { secret } = this.options;
      this.events.emit('secretExpired');
      return typeof secret === 'function' ? this.loadSecret(secret) : this.report(error);
    }
    if (!key) {
      // A message-level error: the whole message failed and no ack comes.
      this.pending.delete(ref!);
      this.report(error);
      if (pending?.action !== 'subscribe') return;
      for (const k of pending.keys) {
        const sub = this.subs.get(k);
        if (sub && sub.ref === ref) this.keyError(sub, new ClientError(error.code, error.message, sub.key));
      }
      return;
    }
    const k = keyString(key);
    const sub = this.subs.get(k);
    if (pending) {
      pending.keys.delete(k);
      if (pending.keys.size === 0) this.pending.delete(ref!);
      if (pending.action !== 'subscribe') return void this.report(error);
      if (sub?.ref !== ref) return; // answers an earlier subscription of this key
    }
    if (sub) this.keyError(sub, error);
  }

  private keyError(sub: Subscription, error: ClientError): void {
    sub.ref = undefined;
    sub.resuming = false;
    if (!HELD_CODES.has(error.code)) {
      sub.sent = false;
      if (retried(error.code)) {
        this.later(backoffDelay(sub.retries++, this.options.retry), () => {
          if (this.subs.get(keyString(sub.key)) === sub) this.queueSubscribe(sub);
        });
      } else {
        sub.failed = true;
      }
    }
    if (sub.fail(error, this.onThrow)) this.report(error);
  }

  /**
   * Asks a `secret` function for the secret and sends it (`setSecret`); an open's replay waits
   * for the answer. A function that throws or rejects is reported as `LISTENER_ERROR`.
   */
  private loadSecret(source: SecretSource): void {
    this.loading = Promise.resolve()
      .then(source)
      .then((secret) => this.setSecret(secret), this.onThrow)
      .then(() => {
        this.loading = undefined;
        if (this.waiting) this.replay();
      });
  }

  // --- helpers ---------------------------------------------------------------------------

  /** Reports to the `error` event; with no listener there, rethrows it so it is not lost. */
  private report(error: ClientError): void {
    if (this.events.emit('error', error) === 0) rethrowLater(error);
  }

  private readonly onThrow = (thrown: unknown): void => {
    const message = thrown instanceof Error ? thrown.message : String(thrown);
    this.report(new ClientError('LISTENER_ERROR', `a listener threw: ${message}`, undefined, { cause: thrown }));
  };

  private isOpen(): boolean {
    return this.socket?.readyState === OPEN && this.state === 'open' && !this.waiting;
  }

  private later(ms: number, fn: () => void): ReturnType<typeof setTimeout> {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
    return timer;
  }
}

/** The `ws` package's report of a refused upgrade: the HTTP response, with its status and headers. */
interface UpgradeEvents {
  on(
    event: 'unexpected-response',
    listener: (request: unknown, response: { statusCode?: number; headers: Record<string, unknown> }) => void,
  ): void;
}

/** Stops listening to a socket; keeps an error handler, since `ws` throws unhandled errors. */
function detach(socket: WebSocketLike): void {
  socket.onopen = socket.onmessage = socket.onclose = null;
  socket.onerror = () => {};
}

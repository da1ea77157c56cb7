import type {
  EntityKey,
  EntityMap,
  EntityNameOf,
  IdEntityNameOf,
  KeyOf,
  ParamsOf,
  QueryEntityNameOf,
  QuerySpec,
  ValueOf,
} from '@entity-sync/protocol';

/**
 * The entity map types live in `@entity-sync/protocol`, shared with the server
 * (`createEntitySync<Entities>()` in `@entity-sync/core`): one map types both sides.
 */
export type { EntityKey, EntityMap, IdEntityNameOf, KeyOf, ParamsOf, QueryEntityNameOf, QuerySpec, ValueOf };

/** The names of an entity map, as strings. */
export type EntityName<E> = EntityNameOf<E>;

/** Where the client's one connection is. */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** Why the state changed, passed along with a `state` event. */
export interface StateDetail {
  /** The close code of the socket that just closed, if one did. */
  code?: number;
  /** The close reason of the socket that just closed, if any. */
  reason?: string;
  /** In `reconnecting`: the delay before the next attempt, in milliseconds. */
  retryInMs?: number;
}

/** What a listener learns besides the value. */
export interface DataMeta<Name extends string = string> {
  /** The key the value belongs to. */
  key: EntityKey<Name>;
  /**
   * `true` for the state sent when the subscription (re)started: the server's snapshot after a
   * subscribe or a reconnect, or the last known value handed to a listener that joined a key
   * that was already subscribed. `false` for a live update. After a reconnect whose resume found
   * the value unchanged, listeners get the value they already hold again (the same object), as a
   * snapshot.
   */
  snapshot: boolean;
}

/**
 * Receives each value of a key. `null` means the entity does not exist or is not visible
 * to this client (with its current secret).
 */
export type Listener<T, Name extends string = string> = (value: T | null, meta: DataMeta<Name>) => void;

/** The part of a WebSocket event handler's signature the client relies on (bivariant). */
type Handler<Ev> = { bivarianceHack(event: Ev): void }['bivarianceHack'];

/**
 * The WebSocket surface the client uses: the browser's `WebSocket` and the `ws` package's both
 * fit. Only text frames are expected.
 */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket class: `globalThis.WebSocket` in browsers, `import { WebSocket } from 'ws'` in Node 20. */
export type WebSocketConstructor = new (url: string, protocols: string) => WebSocketLike;

/** Reconnect timing. The delay before retry `n` (from 0) is uniform in `[minDelayMs, min(maxDelayMs, minDelayMs * 2^(n+1))]`. */
export interface RetryOptions {
  /**
   * The shortest delay before a reconnect attempt, and the base of the exponential window.
   * @default 500
   */
  minDelayMs?: number;
  /**
   * The longest delay before a reconnect attempt.
   * @default 30000
   */
  maxDelayMs?: number;
}

/** Options of {@link createClient}. */
export interface ClientOptions {
  /**
   * The server's WebSocket URL, e.g. `wss://example.com/ws/entity-sync/`, or a function called
   * before each connection attempt (to pick a node, or refresh a token in the query string).
   */
  url: string | (() => string);
  /**
   * The secret (auth token) sent on each connection, before any subscription. Change it with
   * `setSecret`. When absent no secret message is sent. A function (sync or async) is called when
   * the client is created and again each time the server says the secret expired
   * (`SECRET_EXPIRED`); what it returns is sent as the new secret.
   * @default undefined
   */
  secret?: string | SecretSource;
  /**
   * The WebSocket class. Required in Node 20, which has no global WebSocket: pass `ws`'s.
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor;
  /**
   * Reconnect backoff bounds (exponential, full jitter).
   * @default { minDelayMs: 500, maxDelayMs: 30000 }
   */
  retry?: RetryOptions;
  /**
   * How long a connection attempt may take to open before it is abandoned and retried.
   * @default 10000
   */
  connectTimeoutMs?: number;
  /**
   * After close code 1001 or 1012 (a node shutting down or draining), the first attempt waits a
   * random time in `[0, reconnectJitterMs]`, so a drained node's clients spread over the others.
   * @default 1000
   */
  reconnectJitterMs?: number;
  /**
   * Resume by fingerprint: a key subscribed again (after a reconnect) carries the fingerprint of
   * the value the client holds, and the server answers without the value when it did not change.
   * `false` asks for every value again.
   * @default true
   */
  resume?: boolean;
  /**
   * Accept delta frames: pass `applyDelta` from `@entity-sync/client/delta`. A server with the
   * `deltas` option may then send a large changed value as a diff from the value the client holds;
   * the client applies it to a copy, checks the result's fingerprint, and asks for the whole value
   * when it does not check out. Listeners only see whole, checked values. Off by default, which
   * keeps the diff code out of the client's bundle.
   */
  deltas?: (value: unknown, ops: readonly never[]) => unknown;
}

/** A `secret` option that is called for the secret: at creation and after `SECRET_EXPIRED`. */
export type SecretSource = () => string | null | PromiseLike<string | null>;

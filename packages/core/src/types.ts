import type { EntitySyncError } from './errors.js';
import type { EntityKey, Tag } from './keys.js';
import type { ProtocolMode } from './protocol.js';
import type { StandardSchemaV1 } from './standard-schema.js';

/** Identifies one client connection on this node. */
export type ClientId = string;

/**
 * How fetches for one key are grouped (design section 4).
 * - `client`: one fetch per subscribed connection, with its secret (default).
 * - `secret`: one fetch per distinct secret on the node; connections sharing a secret share it.
 * - `user`: one fetch per distinct user on the node (what `identify` returned; anonymous
 *   connections share one).
 * - `shared`: one fetch per node, without a secret; every subscriber gets the same bytes (or,
 *   with a `view`, the bytes of its audience).
 */
export type FetchScope = 'client' | 'secret' | 'user' | 'shared';

/** Who a connection is: what `identify` returned for its secret. */
export interface User {
  /** Identifies the user; scope `user` groups fetches by it. */
  readonly id: string;
  /** Any claims `identify` added (roles, tenant, ...). */
  readonly [claim: string]: unknown;
}

/**
 * Resolves a connection's secret to a user, once per secret change (not per fetch); `null` for
 * an anonymous connection. Throwing or rejecting makes the connection anonymous and sends it
 * `IDENTIFY_FAILED`.
 */
export type IdentifyHandler = (secret: string) => User | null | Promise<User | null>;

/**
 * What a fetch handler receives besides the key. `T` is the entity's value type when the node is
 * typed by an entity map (`createEntitySync<Entities>()`); `unknown` otherwise.
 */
export interface FetchContext<T = unknown> {
  /** The secret of the connection(s) the value is for; `''` in `shared` scope. */
  readonly secret: string;
  /** The connection the value is for, in `client` scope only. */
  readonly clientId?: ClientId;
  /** The user the value is for (`identify`'s answer); `null` when anonymous and in `shared` scope. */
  readonly user: User | null;
  /**
   * Declares that this value depends on a tag (or another key): a `notifyAllOfChange` naming
   * it fetches this value again. What the latest fetch declared replaces what earlier ones did.
   */
  dependsOn(dependency: Tag | EntityKey): void;
  /** Aborted when the fetch times out or the bridge closes. */
  readonly signal: AbortSignal;
  /**
   * Sends one value now-or-later as its own frame, in call order, before the returned value.
   * Use it when one push carries several values (the row and its related rows).
   */
  send(value: FetchValue<T>): void;
}

/** Already-serialized JSON: a fetch may return (or send) it to skip serialization. */
export type SerializedJson = string | Uint8Array;

/**
 * One value a fetch produces: the entity's value, `null` (missing or not visible), `undefined`
 * (nothing: see {@link FetchHandler}), or already-serialized JSON. Anything when untyped.
 */
export type FetchValue<T> = unknown extends T ? unknown : T | null | undefined | SerializedJson;

/**
 * Produces the value(s) to push for `key`. Return a value to send it, `null` for "does not exist
 * or not visible". A fetch that produces nothing at all (returns `undefined` and sends nothing
 * through `ctx.send`) sends `null`, so a forgotten `?? null` cannot leave a subscriber waiting for
 * its snapshot; with `ctx.send`, return `undefined` to send only what it sent.
 * A string, `Buffer` or `Uint8Array` is taken as already-serialized JSON and sent as is.
 * Throwing sends `FETCH_FAILED` to v1 clients; details go to `onError` only.
 */
export type FetchHandler<K = EntityKey, T = unknown> = (
  key: K,
  ctx: FetchContext<T>,
) => unknown extends T ? unknown : FetchValue<T> | void | PromiseLike<FetchValue<T>> | PromiseLike<void>;

export interface AuthorizeContext {
  readonly secret: string;
  readonly clientId: ClientId;
  /** The connection's user (`identify`'s answer), `null` when anonymous. */
  readonly user: User | null;
}

/** Decides whether a connection with this secret may subscribe to `key`. */
export type AuthorizeHandler<K = EntityKey> = (key: K, ctx: AuthorizeContext) => boolean | Promise<boolean>;

/** Who a view shapes a value for. */
export interface ViewContext {
  readonly secret: string;
  readonly user: User | null;
}

/**
 * Shapes one fetched value for one audience; return `null` for "not visible". Typed by an entity
 * map, it takes what `fetch` produced (`F`, by default the entity's value) and returns the
 * entity's value `T`.
 */
export type ViewHandler<F = unknown, T = unknown> = (value: unknown extends F ? unknown : F | null, ctx: ViewContext) => T | null;

/** A query key as fetch handlers see it: its params validated by the entity's schema. */
export interface QueryKey<P, N extends string = string> {
  readonly entity: N;
  /** The canonical JSON of the params as the client sent them. */
  readonly id: string;
  readonly params: P;
}

/** The key a handler of an entity with params `P` receives (`never`: an entity keyed by id). */
export type HandlerKey<P, N extends string = string> = [P] extends [never] ? EntityKey<N> : QueryKey<P, N>;

/**
 * What `registerEntity` takes. `P` is the params type of a query entity (`never` for one keyed
 * by id), `T` the value type clients receive, `F` what `fetch` produces when a `view` turns it
 * into `T` (by default `T`). `T` and `F` are `unknown` on an untyped node.
 */
export interface EntityDefinition<P = never, T = unknown, F = T, N extends string = string> {
  fetch: FetchHandler<HandlerKey<P, N>, NoInfer<F>>;
  /** @default 'client' (`'shared'` with a `view`) */
  scope?: FetchScope;
  /** Runs at subscribe and on every secret change. Absent: everyone may subscribe. */
  authorize?: AuthorizeHandler<HandlerKey<P, N>>;
  /**
   * Makes this a query entity: its keys carry `params` (a JSON object) instead of an id,
   * validated by this schema (zod, valibot, arktype: any Standard Schema). A bad one gets
   * `INVALID_KEY` with the schema's message.
   */
  params?: StandardSchemaV1<unknown, P>;
  /**
   * Shapes the one shared fetch per audience (scope `shared`): each distinct audience's result is
   * serialized once, and only its subscribers get it.
   */
  view?: ViewHandler<F, T>;
  /** Whose view a subscriber gets: per `user` (needs `identify`) or per `secret`. @default 'user' with identify, else 'secret' */
  viewBy?: 'user' | 'secret';
  /** Top-level fields removed from every value (of objects, and of objects in arrays) for everyone. */
  redact?: readonly string[];
}

/**
 * The bridge's view of one client socket. `@entity-sync/ws` adapts `ws` to it; any other
 * transport can too.
 */
export interface SocketLike {
  /** Sends one text frame. */
  send(data: string | Uint8Array): void;
  /** Closes the socket; the transport then calls {@link ConnectionHandle.closed}. */
  close(code: number, reason: string): void;
  /**
   * Bytes handed to the socket but not yet written to the network. When present, the node
   * applies backpressure (see the `highWaterMark` option); the transport must then call
   * {@link ConnectionHandle.drained} when the socket has written its buffer out.
   */
  readonly bufferedAmount?: number;
}

export interface PassThroughContext {
  readonly clientId: ClientId;
  readonly secret: string;
  readonly protocol: ProtocolMode;
  /**
   * Sends a value to this connection: the bare JSON in legacy mode,
   * `{"type":"message","data":...}` in v1.
   */
  reply(value: unknown): void;
}

/** Receives client messages that carry no `action` (the Go library's pass-through). */
export type PassThroughHandler = (message: unknown, ctx: PassThroughContext) => void | Promise<void>;

/** How a transport's connection speaks; per-connection limits are node options. */
export interface AcceptOptions {
  /** `legacy` when the client asked for no subprotocol, `v1` for `entity-sync.v1`. */
  protocol: ProtocolMode;
  /**
   * When the initial secret expires (ms since the epoch, e.g. a JWT's `exp` * 1000): from then on
   * the connection gets `SECRET_EXPIRED` and no data until it sends a new secret.
   */
  expiresAt?: number;
}

/** What the transport holds for one accepted socket. */
export interface ConnectionHandle {
  readonly id: ClientId;
  /** Feeds one inbound frame (text or binary: both are read as UTF-8 JSON). */
  receive(data: string | Uint8Array): void;
  /** Tells the bridge the socket wrote out its buffer, so waiting frames can go. */
  drained(): void;
  /** Tells the bridge the socket is gone (with its close code, when known); releases its subscriptions. Idempotent. */
  closed(code?: number): void;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogEvent {
  level: LogLevel;
  msg: string;
  fields?: Record<string, unknown>;
  err?: unknown;
}

export type Logger = (event: LogEvent) => void;

export interface ErrorContext {
  clientId?: ClientId;
  key?: EntityKey;
}

export type ErrorHandler = (error: EntitySyncError, ctx: ErrorContext) => void;

/** A cheap snapshot of one node's state. */
export interface SyncStats {
  /** Open connections on this node. */
  connections: number;
  /** Distinct keys with at least one local subscriber. */
  keys: number;
  /** Connection-key pairs. */
  subscriptions: number;
  /** Subjects (keys and tags) this node is subscribed to on the bus. */
  busSubscriptions: number;
  /** Subjects held only because fetches declared they depend on them (tags, other keys). */
  dependencies: number;
  /** `'up'` or `'down'`, as last reported by the broker. */
  bus: 'up' | 'down';
  fetchesInFlight: number;
  fetchesQueued: number;
  /** Fetches started since the bridge was created. */
  fetchesStarted: number;
  fetchesFailed: number;
  /** Fetch requests absorbed by a fetch already running or waiting (coalesced notifies). */
  fetchesCoalesced: number;
  /** Fetch results serialized: once per fetch, or once per audience with a `view`. */
  encodings: number;
  /** Frames written to sockets (or handed to the outbox and written later). */
  framesSent: number;
  /** Characters (of text frames) and bytes (of binary frames) in `framesSent`. */
  bytesSent: number;
  /** Values replaced by a newer one for the same key while waiting for a slow client. */
  conflated: number;
  /** Delta frames built (option `deltas`): at most once per (key, group) per fetch. */
  deltasComputed: number;
  /** Delta frames written instead of `data` frames (included in `framesSent`). */
  deltaFramesSent: number;
  /** Bus messages received for keys with local subscribers (own echoes excluded). */
  busMessagesReceived: number;
  busMessagesPublished: number;
  /** Publishes waiting for the bus to come back. */
  publishesBuffered: number;
}

import type { EntitySyncError } from './errors.js';
import type { EntityKey } from './keys.js';
import type { ProtocolMode } from './protocol.js';

/** Identifies one client connection on this node. */
export type ClientId = string;

/**
 * How fetches for one key are grouped (design section 4).
 * - `client`: one fetch per subscribed connection, with its secret (default).
 * - `secret`: one fetch per distinct secret on the node; connections sharing a secret share it.
 * - `shared`: one fetch per node, without a secret; every subscriber gets the same bytes.
 */
export type FetchScope = 'client' | 'secret' | 'shared';

/** What a fetch handler receives besides the key. */
export interface FetchContext {
  /** The secret of the connection(s) the value is for; `''` in `shared` scope. */
  readonly secret: string;
  /** The connection the value is for, in `client` scope only. */
  readonly clientId?: ClientId;
  /** Aborted when the fetch times out or the bridge closes. */
  readonly signal: AbortSignal;
  /**
   * Sends one value now-or-later as its own frame, in call order, before the returned value.
   * Use it when one push carries several values (the row and its related rows).
   */
  send(value: unknown): void;
}

/**
 * Produces the value(s) to push for `key`. Return a value to send it, `undefined` to send
 * nothing (or only what `ctx.send` sent), `null` for "does not exist or not visible".
 * A string, `Buffer` or `Uint8Array` is taken as already-serialized JSON and sent as is.
 * Throwing sends `FETCH_FAILED` to v1 clients; details go to `onError` only.
 */
export type FetchHandler = (key: EntityKey, ctx: FetchContext) => unknown;

export interface AuthorizeContext {
  readonly secret: string;
  readonly clientId: ClientId;
}

/** Decides whether a connection with this secret may subscribe to `key`. */
export type AuthorizeHandler = (key: EntityKey, ctx: AuthorizeContext) => boolean | Promise<boolean>;

export interface EntityDefinition {
  fetch: FetchHandler;
  /** @default 'client' */
  scope?: FetchScope;
  /** Runs at subscribe and on every secret change. Absent: everyone may subscribe. */
  authorize?: AuthorizeHandler;
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
}

/** What the transport holds for one accepted socket. */
export interface ConnectionHandle {
  readonly id: ClientId;
  /** Feeds one inbound frame (text or binary: both are read as UTF-8 JSON). */
  receive(data: string | Uint8Array): void;
  /** Tells the bridge the socket wrote out its buffer, so waiting frames can go. */
  drained(): void;
  /** Tells the bridge the socket is gone; releases its subscriptions. Idempotent. */
  closed(): void;
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
  /** Keys this node is subscribed to on the bus. */
  busSubscriptions: number;
  /** `'up'` or `'down'`, as last reported by the broker. */
  bus: 'up' | 'down';
  fetchesInFlight: number;
  fetchesQueued: number;
  /** Fetches started since the bridge was created. */
  fetchesStarted: number;
  fetchesFailed: number;
  /** Bus messages received for keys with local subscribers (own echoes excluded). */
  busMessagesReceived: number;
  busMessagesPublished: number;
  /** Publishes waiting for the bus to come back. */
  publishesBuffered: number;
}

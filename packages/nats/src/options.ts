import { EntitySyncError } from '@entity-sync/core';
import type { ConnectionOptions } from 'nats';

/** A message as the callback of {@link NatsConnectionLike.subscribe} receives it. */
export interface NatsMsgLike {
  subject: string;
  data: Uint8Array;
}

/** What `subscribe` returns. */
export interface NatsSubscriptionLike {
  unsubscribe(max?: number): void;
}

/** A connection status event (`nats` v2 `Status`, `@nats-io/transport-node` v3 `Status`). */
export interface NatsStatusLike {
  /** The broker acts on `'disconnect'` and `'reconnect'` and ignores the rest. */
  type: string;
}

/**
 * The part of a NATS connection the broker uses, typed structurally so that connections from
 * `nats` v2 and `@nats-io/transport-node` v3 both fit.
 */
export interface NatsConnectionLike {
  /** Queues a message for the server (the client library writes it out a moment later). */
  publish(subject: string, data?: Uint8Array): void;
  /** Subscribes with a callback (the broker never iterates subscriptions). */
  subscribe(subject: string, opts: { callback(err: Error | null, msg: NatsMsgLike): void }): NatsSubscriptionLike;
  /** Round trip to the server: resolves once everything sent before it was processed. */
  flush(): Promise<void>;
  /** Connection status events, until the connection closes. */
  status(): AsyncIterable<NatsStatusLike>;
  /** Resolves (with an error if it failed) once the connection is closed for good. */
  // biome-ignore lint/suspicious/noConfusingVoidType: the signature of nats.js
  closed(): Promise<void | Error>;
  close(): Promise<void>;
  isClosed(): boolean;
  /** The server's `INFO`; `cluster` is set when that server is part of a cluster. */
  readonly info?: { cluster?: string | undefined } | undefined;
}

/** Options shared by both ways of creating a NATS broker. */
export interface NatsBrokerCommonOptions {
  /**
   * When the connection's server belongs to a cluster, `subscribe` waits this long after the
   * server confirmed the subscription, because the other servers learn about it over the
   * routes a little later (well under 1 ms on a LAN). Without the wait, a notify published
   * through another server right after the subscription resolved could miss it. `0` disables.
   * @default 25
   */
  clusterPropagationMs?: number;
}

/**
 * The broker opens and owns one NATS connection per session (per node). Every other field is
 * passed to `connect()` of the `nats` package.
 */
export interface NatsBrokerServersOptions extends NatsBrokerCommonOptions, Omit<ConnectionOptions, 'servers'> {
  /** One server URL or several (the servers of a cluster), e.g. `nats://127.0.0.1:4222`. */
  servers: string | string[];
  /** Reconnect attempts per server. @default -1 (forever) */
  maxReconnectAttempts?: number;
  /** Shortest wait between reconnect rounds, in ms. @default 250 */
  reconnectTimeWait?: number;
  /** Longest wait between reconnect rounds; the wait grows with the outage. @default 5000 */
  reconnectMaxWait?: number;
  /** Random extra wait between reconnect rounds, in ms. @default 250 */
  reconnectJitter?: number;
}

/**
 * The broker uses a connection you opened and own: it never closes it. Sessions share the
 * connection, each with its own subscriptions.
 */
export interface NatsBrokerConnectionOptions extends NatsBrokerCommonOptions {
  connection: NatsConnectionLike;
}

export type NatsBrokerOptions = NatsBrokerServersOptions | NatsBrokerConnectionOptions;

export const DEFAULTS = {
  clusterPropagationMs: 25,
  reconnectTimeWait: 250,
  reconnectMaxWait: 5_000,
  reconnectJitter: 250,
} as const;

/** Options of earlier versions, with what replaces them. */
const REMOVED: Record<string, string> = {
  maxBufferedBytes: 'the node holds publishes while NATS is down: use `maxBufferedPublishes` of `createEntitySync`',
};

function invalid(message: string): EntitySyncError {
  return new EntitySyncError('INVALID_OPTIONS', `createNatsBroker: ${message}`);
}

/** Throws `INVALID_OPTIONS` with a readable message when `options` cannot work. */
export function validateOptions(options: NatsBrokerOptions): void {
  if (typeof options !== 'object' || options === null) throw invalid('expected an options object');
  const hasConnection = 'connection' in options && options.connection !== undefined;
  const hasServers = 'servers' in options && options.servers !== undefined;
  if (hasConnection === hasServers) {
    throw invalid('pass either `servers` or `connection`, not both and not neither');
  }
  if (hasConnection && typeof options.connection.publish !== 'function') {
    throw invalid('`connection` must be a NATS connection (no `publish` method found)');
  }
  for (const [name, instead] of Object.entries(REMOVED)) {
    if (name in options) throw invalid(`\`${name}\` was removed; ${instead}`);
  }
  const settle = options.clusterPropagationMs;
  if (settle !== undefined && !(Number.isFinite(settle) && settle >= 0)) {
    throw invalid(`expected \`clusterPropagationMs\` to be a number >= 0, got ${settle}`);
  }
}

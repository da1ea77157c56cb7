import { EntitySyncError } from '@entity-sync/core';
import type { ConnectionOptions } from 'nats';
import type { NatsConnectionLike } from './nats-connection.js';

/** Options shared by both ways of creating a NATS broker. */
export interface NatsBrokerCommonOptions {
  /**
   * Bytes (subjects plus payloads) that may wait in the reconnect buffer while the connection
   * is down. Past it, `publish` rejects with `EntitySyncError` code `PUBLISH_FAILED`, so
   * `notifyAllOfChange` fails fast instead of growing memory without bound.
   * @default 8388608 (8 MiB, as the Go client's ReconnectBufSize)
   */
  maxBufferedBytes?: number;
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
 * The broker opens and owns one NATS connection per session (per bridge). Every other field
 * is passed to `connect()` of the `nats` package.
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

export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
export const DEFAULT_CLUSTER_PROPAGATION_MS = 25;

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
  const max = options.maxBufferedBytes;
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
    throw invalid(`expected \`maxBufferedBytes\` to be a positive integer, got ${max}`);
  }
  const settle = options.clusterPropagationMs;
  if (settle !== undefined && !(Number.isFinite(settle) && settle >= 0)) {
    throw invalid(`expected \`clusterPropagationMs\` to be a number >= 0, got ${settle}`);
  }
}

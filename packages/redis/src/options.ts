import { EntitySyncError } from '@entity-sync/core';
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';

/** An ioredis client: a single server (`Redis`) or a Redis Cluster (`Cluster`). */
export type RedisClient = Redis | Cluster;

/** Options shared by every way of creating a Redis broker. */
export interface RedisBrokerCommonOptions {
  /**
   * Use sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`, Redis 7+): in a Redis Cluster a message then
   * travels only to the shard that owns the channel's slot instead of to every node. With a
   * `Cluster` subscriber of your own, create it with `shardedSubscribers: true`.
   * @default false
   */
  sharded?: boolean;
  /**
   * Publishes that may wait for Redis at once (they queue in ioredis while it reconnects).
   * Past it, `publish` rejects with `EntitySyncError` code `PUBLISH_FAILED`.
   * @default 10000
   */
  maxPendingPublishes?: number;
}

/** The broker opens and owns two connections per session (one publishes, one subscribes). */
export interface RedisBrokerUrlOptions extends RedisBrokerCommonOptions {
  /** e.g. `redis://127.0.0.1:6379`. @default ioredis' default, `127.0.0.1:6379` */
  url?: string;
  /** Passed to `new Redis()`. Reconnection follows its `retryStrategy` (forever by default). */
  redisOptions?: RedisOptions;
}

/** The broker opens and owns two `Cluster` clients per session. */
export interface RedisBrokerClusterOptions extends RedisBrokerCommonOptions {
  /** Startup nodes of the Redis Cluster, e.g. `[{ host: '10.0.0.1', port: 6379 }]`. */
  cluster: ClusterNode[];
  /** Passed to `new Cluster()`. */
  clusterOptions?: ClusterOptions;
}

/**
 * The broker uses clients you own and never closes them. A subscribed connection cannot
 * publish, so pass two; without `subscriber`, the broker duplicates `publisher` (and closes
 * the duplicate when its last session closes).
 */
export interface RedisBrokerClientOptions extends RedisBrokerCommonOptions {
  publisher: RedisClient;
  subscriber?: RedisClient;
}

export type RedisBrokerOptions = RedisBrokerUrlOptions | RedisBrokerClusterOptions | RedisBrokerClientOptions;

export const DEFAULT_MAX_PENDING_PUBLISHES = 10_000;

function invalid(message: string): EntitySyncError {
  return new EntitySyncError('INVALID_OPTIONS', `createRedisBroker: ${message}`);
}

function isClient(value: unknown): value is RedisClient {
  return typeof (value as { publish?: unknown } | undefined)?.publish === 'function';
}

/** Throws `INVALID_OPTIONS` with a readable message when `options` cannot work. */
export function validateOptions(options: RedisBrokerOptions): void {
  if (typeof options !== 'object' || options === null) throw invalid('expected an options object');
  const modes = ['url' in options || 'redisOptions' in options, 'cluster' in options, 'publisher' in options];
  if (modes.filter(Boolean).length > 1) {
    throw invalid('pass one of `url`/`redisOptions`, `cluster`, or `publisher`');
  }
  if ('publisher' in options && !isClient(options.publisher)) {
    throw invalid('`publisher` must be an ioredis client');
  }
  if ('subscriber' in options && options.subscriber !== undefined && !isClient(options.subscriber)) {
    throw invalid('`subscriber` must be an ioredis client');
  }
  if ('cluster' in options && !(Array.isArray(options.cluster) && options.cluster.length > 0)) {
    throw invalid('`cluster` must list at least one startup node');
  }
  const max = options.maxPendingPublishes;
  if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
    throw invalid(`expected \`maxPendingPublishes\` to be a positive integer, got ${max}`);
  }
}

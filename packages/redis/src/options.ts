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
}

/**
 * The broker opens and owns two connections per session (one publishes, one subscribes). The
 * publisher is created with `enableOfflineQueue: false`: while Redis is down the node holds
 * publishes itself (`maxBufferedPublishes` of `createEntitySync`).
 */
export interface RedisBrokerUrlOptions extends RedisBrokerCommonOptions {
  /** e.g. `redis://127.0.0.1:6379`. @default ioredis' default, `127.0.0.1:6379` */
  url?: string;
  /** Passed to `new Redis()`. Reconnection follows its `retryStrategy` (forever by default). */
  redisOptions?: RedisOptions;
}

/** The broker opens and owns two `Cluster` clients per session (same offline queue rule). */
export interface RedisBrokerClusterOptions extends RedisBrokerCommonOptions {
  /** Startup nodes of the Redis Cluster, e.g. `[{ host: '10.0.0.1', port: 6379 }]`. */
  cluster: ClusterNode[];
  /** Passed to `new Cluster()`. */
  clusterOptions?: ClusterOptions;
}

/**
 * The broker uses clients you own and never closes them; sessions share them. A subscribed
 * connection cannot publish, so pass two; without `subscriber`, each session subscribes on a
 * duplicate of `publisher` that it closes on `close()`.
 */
export interface RedisBrokerClientOptions extends RedisBrokerCommonOptions {
  publisher: RedisClient;
  subscriber?: RedisClient;
}

export type RedisBrokerOptions = RedisBrokerUrlOptions | RedisBrokerClusterOptions | RedisBrokerClientOptions;

/** Options of earlier versions, with what replaces them. */
const REMOVED: Record<string, string> = {
  maxPendingPublishes: 'the node holds publishes while Redis is down: use `maxBufferedPublishes` of `createEntitySync`',
};

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
  for (const [name, instead] of Object.entries(REMOVED)) {
    if (name in options) throw invalid(`\`${name}\` was removed; ${instead}`);
  }
}

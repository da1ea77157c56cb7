import { once } from 'node:events';
import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';
import type { RedisBrokerClientOptions, RedisBrokerClusterOptions, RedisBrokerUrlOptions, RedisClient } from './options.js';

/** Publisher and subscriber of one link, and which of them the broker must close. */
export interface ClientPair {
  publisher: RedisClient;
  subscriber: RedisClient;
  owned: RedisClient[];
}

/** Resolves once `client` is ready, connecting it if it was created with `lazyConnect`. */
export async function whenReady(client: RedisClient): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'wait') return void (await client.connect());
  await once(client, 'ready');
}

/** Closes a client the broker owns: `QUIT` when connected, otherwise drop it. */
export async function closeOwned(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  if (client.status === 'ready') await client.quit().catch(() => client.disconnect());
  else client.disconnect();
}

/**
 * Options as ioredis 5 and 6 constructors both take them. ioredis 6 declares `replyMapping` as
 * `ReplyMappingMode | undefined` in `RedisOptions` but without `undefined` in its constructors,
 * which `exactOptionalPropertyTypes` refuses; ioredis 5 has no `replyMapping` at all.
 */
type ConstructorOptions = RedisOptions & { replyMapping?: 'legacy' };

async function connectAll(pair: ClientPair): Promise<ClientPair> {
  // Errors of clients the broker owns are reported by the link once connected, and by the
  // rejection below before that; without a listener ioredis would print every failed attempt.
  for (const client of pair.owned) client.on('error', ignore);
  try {
    await Promise.all([whenReady(pair.publisher), whenReady(pair.subscriber)]);
    return pair;
  } catch (error) {
    await Promise.allSettled(pair.owned.map(closeOwned));
    throw error;
  }
}

/** Two fresh connections to one Redis server. */
export function openStandalone(options: RedisBrokerUrlOptions): Promise<ClientPair> {
  const redisOptions = { ...options.redisOptions, lazyConnect: true } as ConstructorOptions;
  const publisher = options.url ? new Redis(options.url, redisOptions) : new Redis(redisOptions);
  const subscriber = publisher.duplicate();
  return connectAll({ publisher, subscriber, owned: [publisher, subscriber] });
}

/** Two fresh `Cluster` clients; the subscriber has one connection per shard when sharded. */
export function openCluster(options: RedisBrokerClusterOptions): Promise<ClientPair> {
  const clusterOptions = { ...options.clusterOptions, lazyConnect: true } as ClusterOptions & { redisOptions?: ConstructorOptions };
  const publisher = new Cluster(options.cluster, clusterOptions);
  const subscriber = new Cluster(options.cluster, {
    ...clusterOptions,
    shardedSubscribers: options.sharded ?? false,
  });
  return connectAll({ publisher, subscriber, owned: [publisher, subscriber] });
}

/** The user's clients, with a duplicate of the publisher as subscriber when none was given. */
export function adoptClients(options: RedisBrokerClientOptions): Promise<ClientPair> {
  const { publisher } = options;
  if (options.subscriber) return connectAll({ publisher, subscriber: options.subscriber, owned: [] });
  const subscriber =
    publisher instanceof Cluster ? publisher.duplicate(undefined, { shardedSubscribers: options.sharded ?? false }) : publisher.duplicate();
  return connectAll({ publisher, subscriber, owned: [subscriber] });
}

function ignore(): void {}

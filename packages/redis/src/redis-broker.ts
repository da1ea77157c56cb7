import type { Broker, BrokerHandlers, BrokerSession } from '@entity-sync/core';
import { adoptClients, type ClientPair, closeOwned, openCluster, openStandalone } from './clients.js';
import { DEFAULT_MAX_PENDING_PUBLISHES, type RedisBrokerClientOptions, type RedisBrokerOptions, validateOptions } from './options.js';
import { RedisLink } from './redis-link.js';
import { RedisSession } from './redis-session.js';

/**
 * A {@link Broker} over Redis pub/sub on `ioredis`: one connection publishes, one subscribes.
 *
 * - `{ url, redisOptions }` or `{ cluster, clusterOptions }`: every session (one per bridge)
 *   opens and owns its two connections and closes them on `close()`.
 * - `{ publisher, subscriber? }`: sessions share your clients and never close them.
 *
 * Subscriptions resolve when Redis confirmed them. Sessions report `'down'` when either
 * connection drops and `'up'` once both are back and every channel is subscribed again.
 * `sharded: true` uses `SSUBSCRIBE`/`SPUBLISH` (Redis Cluster, Redis 7+).
 *
 * @example
 * const sync = createEntitySync({ broker: createRedisBroker({ url: 'redis://127.0.0.1:6379' }) });
 */
export function createRedisBroker(options: RedisBrokerOptions): Broker {
  validateOptions(options);
  const sharded = options.sharded ?? false;
  const max = options.maxPendingPublishes ?? DEFAULT_MAX_PENDING_PUBLISHES;
  if ('publisher' in options) return sharedClientsBroker(options, sharded, max);
  const open = (): Promise<ClientPair> => ('cluster' in options ? openCluster(options) : openStandalone(options));
  const broker = {
    async connect(handlers: BrokerHandlers): Promise<BrokerSession> {
      const pair = await open();
      const link = new RedisLink(pair.publisher, pair.subscriber, sharded, max);
      return new RedisSession(link, handlers, async () => {
        link.dispose();
        await Promise.allSettled(pair.owned.map(closeOwned));
      });
    },
  };
  return broker satisfies Broker;
}

function sharedClientsBroker(options: RedisBrokerClientOptions, sharded: boolean, max: number): Broker {
  let shared: Promise<[RedisLink, ClientPair]> | undefined;
  let sessions = 0;
  const openLink = async (): Promise<[RedisLink, ClientPair]> => {
    const pair = await adoptClients(options);
    return [new RedisLink(pair.publisher, pair.subscriber, sharded, max), pair];
  };
  const release = async (): Promise<void> => {
    if (--sessions > 0 || !shared) return;
    const [link, pair] = await shared;
    shared = undefined;
    link.dispose();
    await Promise.allSettled(pair.owned.map(closeOwned));
  };
  const broker = {
    async connect(handlers: BrokerHandlers): Promise<BrokerSession> {
      sessions++;
      shared ??= openLink();
      try {
        const [link] = await shared;
        return new RedisSession(link, handlers, release);
      } catch (error) {
        shared = undefined;
        sessions--;
        throw error;
      }
    },
  };
  return broker satisfies Broker;
}

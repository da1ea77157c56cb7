import { brokerConformance, type RedisCluster, startRedisCluster } from '@entity-sync/testing';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedisBroker } from '../src/index.js';

const redisUrl = inject('redisUrl');

describe('own connections per session', () => {
  brokerConformance('redis { url }', () => createRedisBroker({ url: redisUrl }));
  brokerConformance('redis { url, sharded } (SSUBSCRIBE on a single server)', () => createRedisBroker({ url: redisUrl, sharded: true }));
});

describe('user-passed clients shared by sessions', () => {
  let publisher: Redis;
  let subscriber: Redis;
  beforeAll(() => {
    publisher = new Redis(redisUrl);
    subscriber = new Redis(redisUrl);
  });
  afterAll(async () => {
    await Promise.all([publisher.quit(), subscriber.quit()]);
  });

  brokerConformance('redis { publisher, subscriber }', () => createRedisBroker({ publisher, subscriber }));
  brokerConformance('redis { publisher } (subscriber duplicated)', () => createRedisBroker({ publisher }));

  it('leaves user clients open when sessions close', async () => {
    const session = await createRedisBroker({ publisher, subscriber }).connect({ message: () => {} });
    await session.subscribe('t-open.items.YQ');
    await session.close();
    expect([publisher.status, subscriber.status]).toEqual(['ready', 'ready']);
    expect(await publisher.ping()).toBe('PONG');
  });
});

describe('3-master Redis Cluster, sharded pub/sub', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  brokerConformance('redis cluster { cluster, sharded }', () => createRedisBroker({ cluster: cluster.nodes, sharded: true }));

  describe('with user-passed Cluster clients', () => {
    let publisher: Cluster;
    beforeAll(() => {
      publisher = new Cluster(cluster.nodes);
    });
    afterAll(async () => {
      await publisher.quit();
    });
    brokerConformance('redis cluster { publisher: Cluster, sharded }', () => createRedisBroker({ publisher, sharded: true }));
  });
});

describe('options', () => {
  it('rejects mixed modes and bad values', () => {
    expect(() => createRedisBroker({ url: redisUrl, cluster: [] } as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => createRedisBroker({ publisher: {} as never })).toThrow(/ioredis client/);
    expect(() => createRedisBroker({ url: redisUrl, maxPendingPublishes: 3 } as never)).toThrow(
      /maxPendingPublishes.*maxBufferedPublishes/,
    );
  });
});

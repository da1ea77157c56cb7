import { inject } from 'vitest';
import { afterAll, describe, expect, it } from 'vitest';
import {
  findBinary,
  type NatsServer,
  redisCommand,
  type RedisServer,
  startNats,
  startNatsCluster,
  startRedis,
  startRedisCluster,
} from '../src/index.js';

const leftovers: { stop(): Promise<void> }[] = [];
afterAll(async () => {
  await Promise.all(leftovers.map((server) => server.stop()));
});

describe('test servers', () => {
  it('gets the shared servers from global setup', () => {
    expect(inject('redisUrl')).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(inject('natsUrl')).toMatch(/^nats:\/\/127\.0\.0\.1:\d+$/);
  });

  it('names the package when a binary is missing', () => {
    expect(() => findBinary('no-such-server-xyz', 'no-such-pkg')).toThrow('no-such-server-xyz not found; apt-get install no-such-pkg');
  });

  it('stops and restarts redis-server on the same port', async () => {
    const redis: RedisServer = await startRedis();
    leftovers.push(redis);
    const { port, pid } = redis;
    await redis.stop();
    expect(redis.running).toBe(false);
    await expect(redisCommand(port, 'PING')).rejects.toThrow();
    await redis.start();
    expect(redis.port).toBe(port);
    expect(redis.pid).not.toBe(pid);
    expect(await redisCommand(port, 'PING')).toBe('PONG');
    expect(await redisCommand(port, 'CONFIG', 'GET', 'save')).toEqual(['save', '']);
  });

  it('stops and restarts nats-server on the same port', async () => {
    const nats: NatsServer = await startNats();
    leftovers.push(nats);
    const port = nats.port;
    await nats.stop();
    await nats.start();
    expect(nats.port).toBe(port);
    expect(nats.running).toBe(true);
  });

  it('forms a 3-server NATS cluster with a full route mesh', async () => {
    const cluster = await startNatsCluster(3);
    leftovers.push(cluster);
    expect(new Set(cluster.urls).size).toBe(3);
    for (const server of cluster.servers) expect(await server.routeCount()).toBe(2);
  });

  it('forms a 3-master Redis Cluster covering every slot', async () => {
    const cluster = await startRedisCluster(3);
    leftovers.push(cluster);
    const info = String(await redisCommand(cluster.servers[2]!.port, 'CLUSTER', 'INFO'));
    expect(info).toContain('cluster_slots_assigned:16384');
    expect(info).toContain('cluster_size:3');
  });
});

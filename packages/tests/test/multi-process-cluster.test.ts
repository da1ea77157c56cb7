import { type NatsCluster, type RedisCluster, startNatsCluster, startRedisCluster } from '@entity-sync/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ClusterRun } from './cluster/cluster-run.js';
import type { NodeConfig } from './cluster/protocol.js';

let natsCluster: NatsCluster | undefined;
let redisCluster: RedisCluster | undefined;
beforeAll(async () => {
  [natsCluster, redisCluster] = await Promise.all([startNatsCluster(3), startRedisCluster(3)]);
});
afterAll(async () => {
  await Promise.all([natsCluster?.stop(), redisCluster?.stop()]);
});

const setups: [string, NodeConfig['broker'], (node: number) => string[]][] = [
  ['NATS', 'nats', () => [inject('natsUrl')]],
  ['Redis', 'redis', () => [inject('redisUrl')]],
  ['a 3-server NATS cluster (one server per node)', 'nats', (i) => [natsCluster!.urls[i % 3]!]],
  ['a 3-master Redis Cluster (sharded)', 'redis-cluster', () => redisCluster!.urls],
];

describe.each(setups)('3 node processes over %s', (_, broker, urlsFor) => {
  let run: ClusterRun;
  beforeAll(async () => {
    run = await ClusterRun.start(broker, urlsFor);
    await run.connectClients();
  }, 120_000);
  afterAll(async () => {
    await run?.close();
  });

  it('converges after 2,000 random writes notified from random nodes', async (ctx) => {
    await run.writes(run.size.writes);
    const quietAt = Date.now();
    await expect.poll(() => run.staleCount(), { timeout: 30_000, interval: 20 }).toBe(0);
    ctx.annotate(`converged ${Date.now() - quietAt} ms after the last notify resolved`);
    expect(run.clients.every((c) => c.open)).toBe(true);
    expect(run.clients.reduce((n, c) => n + c.reordered, 0)).toBe(0);
  }, 120_000);

  it('routes by interest: only nodes with a subscriber fetch', async () => {
    const [holder, publisher, bystander] = run.nodes;
    const solo = `solo-${broker}-${Date.now()}`;
    const client = run.clients[0]!; // connected to nodes[0]
    await client.subscribe([solo]);
    const before = await Promise.all(run.nodes.map((n) => n.stats()));
    run.store.write(solo);
    await publisher!.notify([solo]);
    await expect.poll(() => client.latest.get(solo), { timeout: 10_000 }).toBe(1);
    const after = await Promise.all([holder!, publisher!, bystander!].map((n) => n.stats()));
    expect(after[0]!['fetchesStarted']).toBeGreaterThan(before[0]!['fetchesStarted'] as number);
    expect(after[1]!['fetchesStarted']).toBe(before[1]!['fetchesStarted']);
    expect(after[2]!['fetchesStarted']).toBe(before[2]!['fetchesStarted']);
    for (const stats of after) expect(stats['busSubscriptions']).toBe(stats['keys']);
  }, 60_000);
});

import { EntitySyncError } from '@entity-sync/core';
import { BrokerProbe, brokerConformance, type RedisServer, startRedis } from '@entity-sync/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisBroker } from '../src/index.js';

const wait = { timeout: 20_000, interval: 5 };
let server: RedisServer;
const probes: BrokerProbe[] = [];

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await Promise.allSettled(probes.map((p) => p.close()));
  await server?.stop();
});

async function probe(options: { maxPendingPublishes?: number } = {}): Promise<BrokerProbe> {
  const p = await BrokerProbe.connect(createRedisBroker({ url: server.url, ...options }));
  probes.push(p);
  return p;
}

describe('redis-server stopped and restarted on the same port', () => {
  brokerConformance('redis outage', () => {
    const broker = createRedisBroker({ url: server.url });
    return { broker: () => broker, outage: { begin: () => server.stop(), end: () => server.start() } };
  });

  it('reports down then up and delivers to a subscription made before the outage', async (ctx) => {
    const [a, b] = [await probe(), await probe()];
    await a.subscribe('t-outage.items.YQ');
    const stoppedAt = Date.now();
    await server.stop();
    await vi.waitFor(() => expect(a.statuses).toEqual(['down']), wait);
    const downMs = a.statusTimes[0]! - stoppedAt;
    const startedAt = Date.now();
    await server.start();
    await vi.waitFor(() => expect([a.statuses, b.statuses]).toEqual([['down', 'up'], ['down', 'up']]), wait);
    const upMs = Math.max(a.statusTimes[1]!, b.statusTimes[1]!) - startedAt;
    await b.publish('t-outage.items.YQ', 'after recovery');
    await vi.waitFor(() => expect(a.texts('t-outage.items.YQ')).toEqual(['after recovery']), wait);
    ctx.annotate(`down reported after ${downMs} ms; up ${upMs} ms after restart`);
    expect(upMs).toBeLessThan(5_000);
  });

  it('holds publishes while down up to maxPendingPublishes, and sends them on recovery', async () => {
    const [a, b] = [await probe(), await probe({ maxPendingPublishes: 3 })];
    await a.subscribe('t-pending.items.YQ');
    await server.stop();
    await vi.waitFor(() => expect(b.statuses).toEqual(['down']), wait);
    const held = [1, 2, 3].map((i) => b.publish('t-pending.items.YQ', `held ${i}`));
    const refused = await b.publish('t-pending.items.YQ', 'refused').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EntitySyncError);
    expect(refused).toMatchObject({ code: 'PUBLISH_FAILED' });
    await server.start();
    await Promise.all(held);
    await vi.waitFor(() => expect(a.statuses).toEqual(['down', 'up']), wait);
    await b.publish('t-pending.items.YQ', 'after');
    await vi.waitFor(() => expect(a.texts('t-pending.items.YQ')).toContain('after'), wait);
  });
});

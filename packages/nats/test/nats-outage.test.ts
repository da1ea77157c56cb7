import { EntitySyncError } from '@entity-sync/core';
import { BrokerProbe, brokerConformance, type NatsServer, startNats } from '@entity-sync/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNatsBroker } from '../src/index.js';

const wait = { timeout: 20_000, interval: 5 };
let server: NatsServer;
const probes: BrokerProbe[] = [];

beforeAll(async () => {
  server = await startNats();
});
afterAll(async () => {
  await Promise.allSettled(probes.map((p) => p.close()));
  await server?.stop();
});

async function probe(options: { maxBufferedBytes?: number } = {}): Promise<BrokerProbe> {
  const p = await BrokerProbe.connect(createNatsBroker({ servers: server.url, ...options }));
  probes.push(p);
  return p;
}

describe('nats-server stopped and restarted on the same port', () => {
  brokerConformance('nats outage', () => {
    const broker = createNatsBroker({ servers: server.url });
    return { broker: () => broker, outage: { begin: () => server.stop(), end: () => server.start() } };
  });

  it('reports down then up and delivers to a subscription made before the outage', async (ctx) => {
    const [a, b] = [await probe(), await probe()];
    await a.subscribe('t-outage.items.YQ');
    const stoppedAt = Date.now();
    await server.stop();
    await vi.waitFor(() => expect(a.statuses).toEqual(['down']), wait);
    const downMs = a.statusTimes[0]! - stoppedAt;
    await a.publish('t-outage.items.YQ', 'buffered while down');
    const startedAt = Date.now();
    await server.start();
    await vi.waitFor(() => expect([a.statuses, b.statuses]).toEqual([['down', 'up'], ['down', 'up']]), wait);
    const upMs = Math.max(a.statusTimes[1]!, b.statusTimes[1]!) - startedAt;
    await b.publish('t-outage.items.YQ', 'after recovery');
    await vi.waitFor(
      () => expect(a.texts('t-outage.items.YQ')).toEqual(['buffered while down', 'after recovery']),
      wait,
    );
    ctx.annotate(`down reported after ${downMs} ms; up ${upMs} ms after restart`);
    expect(upMs).toBeLessThan(5_000);
  });

  it('rejects publishes past maxBufferedBytes while down, and accepts them again after', async () => {
    const a = await probe({ maxBufferedBytes: 1_000 });
    await server.stop();
    await vi.waitFor(() => expect(a.statuses).toEqual(['down']), wait);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => a.publish('t-bound.items.YQ', 'x'.repeat(200))),
    );
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    for (const r of rejected) {
      expect(r.reason).toBeInstanceOf(EntitySyncError);
      expect(r.reason).toMatchObject({ code: 'PUBLISH_FAILED' });
    }
    await server.start();
    await vi.waitFor(() => expect(a.statuses).toEqual(['down', 'up']), wait);
    await a.subscribe('t-bound.items.Yg');
    await a.publish('t-bound.items.Yg', 'x'.repeat(900));
    await vi.waitFor(() => expect(a.texts('t-bound.items.Yg')).toHaveLength(1), wait);
  });
});

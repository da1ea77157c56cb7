import { EntitySyncError } from '@entity-sync/core';
import { brokerOutageSuite, startNats } from '@entity-sync/testing';
import { describe, expect, it, vi } from 'vitest';
import { createNatsBroker } from '../src/index.js';

const wait = { timeout: 20_000, interval: 5 };

describe('nats', () => {
  const outage = brokerOutageSuite('nats', {
    start: () => startNats(),
    broker: (server) => createNatsBroker({ servers: server.url }),
    deliversPublishesMadeWhileDown: true,
  });

  it('rejects publishes past maxBufferedBytes while down, and accepts them again after', async () => {
    const server = outage.server();
    const a = await outage.probe(createNatsBroker({ servers: server.url, maxBufferedBytes: 1_000 }));
    await server.stop();
    await vi.waitFor(() => expect(a.statuses).toEqual(['down']), wait);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => a.publish('t-bound.items.YQ', 'x'.repeat(200))));
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

import { EntitySyncError } from '@entity-sync/core';
import { brokerOutageSuite, startRedis } from '@entity-sync/testing';
import { describe, expect, it, vi } from 'vitest';
import { createRedisBroker } from '../src/index.js';

const wait = { timeout: 20_000, interval: 5 };

describe('redis', () => {
  const outage = brokerOutageSuite('redis', {
    start: () => startRedis(),
    broker: (server) => createRedisBroker({ url: server.url }),
    deliversPublishesMadeWhileDown: false,
  });

  it('holds publishes while down up to maxPendingPublishes, and sends them on recovery', async () => {
    const server = outage.server();
    const a = await outage.probe(createRedisBroker({ url: server.url }));
    const b = await outage.probe(createRedisBroker({ url: server.url, maxPendingPublishes: 3 }));
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

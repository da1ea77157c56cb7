import { EntitySyncError } from '@entity-sync/core';
import { brokerOutageSuite, startNats } from '@entity-sync/testing';
import { connect } from 'nats';
import { describe, expect, it, vi } from 'vitest';
import { createNatsBroker } from '../src/index.js';

const wait = { timeout: 20_000, interval: 5 };

describe('nats', () => {
  const outage = brokerOutageSuite('nats', {
    start: () => startNats(),
    broker: (server) => createNatsBroker({ servers: server.url }),
    async sharedBroker(server) {
      const connection = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
      return { broker: createNatsBroker({ connection }), close: () => connection.close() };
    },
  });

  // `nats` v2 throws its outbound buffer away when it reconnects: a publish it only queued is
  // lost. The broker resolves a publish only after the server confirmed it, so this one, which
  // the killed server never answered, is rejected (after 'down', so the core holds it).
  it('rejects a publish the server never confirmed, after reporting down', async () => {
    const server = outage.server();
    const a = await outage.probe(createNatsBroker({ servers: server.url }));
    await a.subscribe('t-inflight.items.YQ');
    server.pause();
    const outcome = a.publish('t-inflight.items.YQ', 'in flight').then(
      () => 'resolved',
      (error: unknown) => error,
    );
    await server.kill();
    const error = await outcome;
    expect(error).toBeInstanceOf(EntitySyncError);
    expect(error).toMatchObject({ code: 'PUBLISH_FAILED' });
    expect(a.statuses).toEqual(['down']);
    await server.start();
    await vi.waitFor(() => expect(a.statuses).toEqual(['down', 'up']), wait);
    await a.publish('t-inflight.items.YQ', 'after');
    await vi.waitFor(() => expect(a.texts('t-inflight.items.YQ')).toEqual(['after']), wait);
  });
});

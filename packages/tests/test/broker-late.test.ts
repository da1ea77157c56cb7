import { createEntitySync, type EntitySyncError } from '@entity-sync/core';
import { createNatsBroker } from '@entity-sync/nats';
import { createRedisBroker } from '@entity-sync/redis';
import { freePort, type NatsServer, type RedisServer, startNats, startRedis, Teardown, TestClient } from '@entity-sync/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { serve } from './support.js';

/**
 * A node may start before its broker (containers come up in any order): it keeps retrying,
 * tells `onError`, and works once the broker is reachable.
 */
const leftovers = new Teardown();
afterEach(leftovers.run);

const brokers = {
  nats: { start: (port: number) => startNats({ port }), make: (port: number) => createNatsBroker({ servers: `nats://127.0.0.1:${port}` }) },
  redis: { start: (port: number) => startRedis({ port }), make: (port: number) => createRedisBroker({ url: `redis://127.0.0.1:${port}` }) },
} as const;

describe.each(Object.keys(brokers) as Array<keyof typeof brokers>)('a node started before %s', (name) => {
  it('retries until the broker is up, then serves subscribes and notifies across nodes', async () => {
    const port = await freePort();
    const errors: EntitySyncError[] = [];
    const versions = new Map<string, number>();
    const node = (id: string) => {
      const sync = createEntitySync({
        broker: brokers[name].make(port),
        prefix: `late-${name}`,
        nodeId: id,
        busTimeoutMs: 500,
        onError: (e) => errors.push(e),
      });
      sync.registerEntity('items', { fetch: (key) => ({ v: versions.get(key.id) ?? 0 }) });
      leftovers.push(sync);
      return sync;
    };
    const a = node('a');
    const b = node('b');
    const server = await serve(b);
    leftovers.push(server);
    const client = await TestClient.connect(server.url);
    leftovers.push(client);

    // No broker yet: the subscribe is refused as retryable, and connect failures were reported.
    expect(await client.request({ action: 'subscribe', body: { entity: 'items', id: '1' } }, 1)).toMatchObject({ code: 'UNAVAILABLE' });
    await expect.poll(() => errors.some((e) => e.code === 'UNAVAILABLE')).toBe(true);
    expect(b.stats().bus).toBe('down');

    const broker: NatsServer | RedisServer = await brokers[name].start(port);
    leftovers.push(broker);
    await Promise.all([a.ready(), b.ready()]);
    expect(b.stats().bus).toBe('up');
    expect(await client.request({ action: 'subscribe', body: { entity: 'items', id: '1' } }, 2)).toEqual({ type: 'ack', ref: 2 });
    versions.set('1', 1);
    await a.notifyAllOfChange({ entity: 'items', id: '1' });
    await client.waitFor((f) => f.type === 'data' && f.data.v === 1);
  }, 30_000);
});

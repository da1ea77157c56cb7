import { Teardown, TestClient } from '@entity-sync/testing';
import { type Broker, createEntitySync, MemoryBroker } from '@entity-sync/core';
import { createNatsBroker } from '@entity-sync/nats';
import { createRedisBroker } from '@entity-sync/redis';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { serve } from './support.js';

/**
 * `resyncAll()` (design section 8): a change source that cannot prove it missed nothing makes
 * every node of the cluster fetch every key it holds again, through the bus.
 */
const leftovers = new Teardown();
afterEach(leftovers.run);

let run = 0;
const memory = new MemoryBroker();
const brokers: Record<string, () => Broker> = {
  memory: () => memory,
  nats: () => createNatsBroker({ servers: inject('natsUrl') }),
  redis: () => createRedisBroker({ url: inject('redisUrl') }),
};

describe.each(Object.keys(brokers))('resyncAll over %s', (name) => {
  it('refetches every held key on every node, and nothing on a node that holds none', async () => {
    const prefix = `resync-${name}-${++run}`;
    const store = new Map([
      ['1', 0],
      ['2', 0],
    ]);
    const fetches = [0, 0, 0];
    const nodes = [0, 1, 2].map((n) => {
      const sync = createEntitySync({ broker: brokers[name]!(), prefix, nodeId: `n${n}` });
      sync.registerEntity('items', {
        fetch: (key) => {
          fetches[n]!++;
          return { id: key.id, v: store.get(key.id) };
        },
      });
      leftovers.push(sync);
      return sync;
    });
    await Promise.all(nodes.map((n) => n.ready()));
    const servers = await Promise.all(nodes.slice(0, 2).map((n) => serve(n)));
    leftovers.push(...servers);
    const clients = await Promise.all(servers.map((s) => TestClient.connect(s.url)));
    leftovers.push(...clients);
    for (const [i, client] of clients.entries()) {
      expect(
        await client.request(
          {
            action: 'subscribe',
            body: [
              { entity: 'items', id: '1' },
              { entity: 'items', id: '2' },
            ],
          },
          i,
        ),
      ).toEqual({ type: 'ack', ref: i });
    }

    // Written without a notify (a change the source could not see): only a resync repairs it.
    store.set('1', 1);
    store.set('2', 2);
    const before = [...fetches];
    await nodes[2]!.resyncAll();
    for (const client of clients) {
      await client.waitFor((f) => f.type === 'data' && f.id === '1' && f.data.v === 1);
      await client.waitFor((f) => f.type === 'data' && f.id === '2' && f.data.v === 2);
    }
    expect(fetches[0]! - before[0]!).toBe(2);
    expect(fetches[1]! - before[1]!).toBe(2);
    expect(fetches[2]).toBe(before[2]);
  });
});

it('resyncAll rejects once the node is closed', async () => {
  const sync = createEntitySync();
  await sync.close();
  await expect(sync.resyncAll()).rejects.toMatchObject({ code: 'CLOSED' });
});

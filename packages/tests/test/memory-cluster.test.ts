import { type EntitySync, keySubject, MemoryBroker } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connect, startNode, subscribe } from './support.js';

afterEach(closeAll);

/** Three bridges on one MemoryBroker: a cluster in one process. */
/** `resumeCacheMs: 0`: a node leaves a key's bus subscription with its last subscriber, at once. */
async function cluster(store: Map<string, unknown>, resumeCacheMs = 0) {
  const broker = new MemoryBroker();
  const register = (sync: EntitySync) =>
    sync.registerEntity('items', {
      fetch: (key, ctx) => {
        ctx.send({ related: key.id });
        return store.get(key.id) ?? null;
      },
    });
  const nodes = await Promise.all([0, 1, 2].map(() => startNode(register, { broker, resumeCacheMs })));
  return { broker, nodes };
}

describe('a cluster on one MemoryBroker', () => {
  it('routes a change from any node to subscribers on every node, several values in order', async () => {
    const store = new Map<string, unknown>([['1', { v: 0 }]]);
    const { nodes } = await cluster(store);
    const clients = await Promise.all(nodes.map((n) => connect(n)));
    await Promise.all(clients.map((c) => subscribe(c, { entity: 'items', id: '1' })));
    store.set('1', { v: 1 });
    await nodes[2]!.sync.notifyAllOfChange({ entity: 'items', id: '1' });
    for (const c of clients) {
      await c.waitFor((f) => f.type === 'data' && f.data?.v === 1);
      const frames = c.messages as any[];
      const at = frames.findIndex((f) => f.type === 'data' && f.data?.v === 1);
      expect(frames[at - 1]).toEqual({ type: 'data', entity: 'items', id: '1', data: { related: '1' } });
    }
  });

  it('subscribes the bus per key only on nodes with local subscribers', async () => {
    const { broker, nodes } = await cluster(new Map());
    const a = { entity: 'items', id: 'a.b' };
    const b = { entity: 'items', id: 'a' };
    const subjectA = keySubject('entity-sync', a);
    const subjectB = keySubject('entity-sync', b);
    const c0 = await connect(nodes[0]!);
    const c1 = await connect(nodes[1]!);
    await subscribe(c0, a);
    await subscribe(c1, b);
    expect(broker.subscriberCount(subjectA)).toBe(1);
    expect(broker.subscriberCount(subjectB)).toBe(1);
    expect(nodes[2]!.sync.stats().busSubscriptions).toBe(0);

    await nodes[2]!.sync.notifyAllOfChange([a, b]);
    await expect.poll(() => nodes[0]!.sync.stats().busMessagesReceived).toBe(1);
    await expect.poll(() => nodes[1]!.sync.stats().busMessagesReceived).toBe(1);
    expect(nodes[2]!.sync.stats().busMessagesReceived).toBe(0);

    await c0.request({ action: 'unsubscribe', body: a }, 'u');
    await expect.poll(() => broker.subscriberCount(subjectA)).toBe(0);
    await c1.close();
    await expect.poll(() => broker.subscriberCount(subjectB)).toBe(0);
    expect(nodes[1]!.sync.stats()).toMatchObject({ connections: 0, keys: 0, subscriptions: 0, busSubscriptions: 0 });
  });

  it('keys whose ids look like separators or wildcards never cross', async () => {
    const ids = ['a', 'a.b', 'a.*', '>', '*', 'a b', 'ä', '', 'a/b'];
    const store = new Map<string, unknown>(ids.map((id) => [id, { id }]));
    const { nodes } = await cluster(store);
    const clients = await Promise.all(ids.map((_, i) => connect(nodes[i % 3]!)));
    await Promise.all(clients.map((c, i) => subscribe(c, { entity: 'items', id: ids[i]! })));
    for (const c of clients) c.clear();
    for (const [i, id] of ids.entries()) {
      store.set(id, { id, changed: true });
      await nodes[(i + 1) % 3]!.sync.notifyAllOfChange({ entity: 'items', id });
      await clients[i]!.waitFor((f) => f.type === 'data' && f.data?.changed === true);
    }
    await expect.poll(() => nodes.map((n) => n.sync.stats().fetchesInFlight)).toEqual([0, 0, 0]);
    for (const [i, c] of clients.entries()) {
      const seen = c.messages.filter((f: any) => f.type === 'data').map((f: any) => f.id);
      expect(new Set(seen)).toEqual(new Set([ids[i]]));
    }
  });

  it('a burst of notifies for one key in one tick is one bus message and at most 2 fetches elsewhere', async () => {
    const store = new Map<string, unknown>([['1', { v: 0 }]]);
    const { nodes } = await cluster(store);
    const remote = await connect(nodes[1]!);
    await subscribe(remote, { entity: 'items', id: '1' });
    const published = nodes[0]!.sync.stats().busMessagesPublished;
    const fetched = nodes[1]!.sync.stats().fetchesStarted;
    const burst: Array<Promise<void>> = [];
    for (let v = 1; v <= 1000; v++) {
      store.set('1', { v });
      burst.push(nodes[0]!.sync.notifyAllOfChange({ entity: 'items', id: '1' }));
    }
    await Promise.all(burst);
    await remote.waitFor((f) => f.type === 'data' && f.data?.v === 1000);
    expect(nodes[0]!.sync.stats().busMessagesPublished - published).toBe(1);
    expect(nodes[1]!.sync.stats().fetchesStarted - fetched).toBeLessThanOrEqual(2);
  });

  it('after a bus outage every node re-fetches the keys it holds', async () => {
    const store = new Map<string, unknown>([['1', { v: 0 }]]);
    const { broker, nodes } = await cluster(store);
    const client = await connect(nodes[0]!);
    await subscribe(client, { entity: 'items', id: '1' });
    broker.setDown(true);
    store.set('1', { v: 1 });
    // The notifying node's publish waits in its buffer; pretend the message was lost instead:
    // recovery alone must bring the client up to date.
    broker.setDown(false);
    await client.waitFor((f) => f.type === 'data' && f.data?.v === 1);
  });

  it('a publish made while the bus is down is sent on recovery; local subscribers are served at once', async () => {
    const store = new Map<string, unknown>([['1', { v: 0 }]]);
    const { broker, nodes } = await cluster(store);
    const local = await connect(nodes[0]!);
    const remote = await connect(nodes[1]!);
    await subscribe(local, { entity: 'items', id: '1' });
    await subscribe(remote, { entity: 'items', id: '1' });
    broker.setDown(true);
    store.set('1', { v: 1 });
    const published = nodes[0]!.sync.notifyAllOfChange({ entity: 'items', id: '1' });
    await local.waitFor((f) => f.type === 'data' && f.data?.v === 1);
    expect(nodes[0]!.sync.stats().publishesBuffered).toBe(1);
    broker.setDown(false);
    await published;
    await remote.waitFor((f) => f.type === 'data' && f.data?.v === 1);
  });
});

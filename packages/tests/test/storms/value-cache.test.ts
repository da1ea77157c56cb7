import { type EntitySyncOptions, MemoryBroker } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connect, deferred, type Node, setSecret, startNode, type TestClient } from '../support.js';
import { dataFrames, sleep } from './frames.js';

/**
 * Issue 11, the value cache: a storm of clients (re)subscribing to one (key, group) costs one
 * fetch; it never crosses groups, never serves a value older than the last notify the node saw,
 * and is bounded in size and lifetime (`resumeCacheSize`, `resumeCacheMs`; 0 turns it off).
 */
afterEach(closeAll);

const N = 20;
const key = (id: string) => ({ entity: 'items', id });

interface Fixture {
  node: Node;
  store: Map<string, number>;
  /** Fetches per `id` or `id@secret`. */
  fetches: Map<string, number>;
  /** While set, fetches wait for it (after reading the store). */
  gate: { promise: Promise<void> } | undefined;
}

async function start(options: EntitySyncOptions = {}, scope: 'shared' | 'secret' | 'client' = 'shared'): Promise<Fixture> {
  const fixture: Fixture = { node: undefined as unknown as Node, store: new Map(), fetches: new Map(), gate: undefined };
  fixture.node = await startNode(
    (sync) =>
      sync.registerEntity('items', {
        scope,
        fetch: async (k, ctx) => {
          const counted = scope === 'shared' ? k.id : `${k.id}@${ctx.secret}`;
          fixture.fetches.set(counted, (fixture.fetches.get(counted) ?? 0) + 1);
          const v = fixture.store.get(k.id) ?? 0;
          if (fixture.gate !== undefined) await fixture.gate.promise;
          return { id: k.id, v, as: ctx.secret };
        },
      }),
    options,
  );
  return fixture;
}

let refs = 0;
/** Subscribes and returns the value that came before the ack. */
async function subscribeValue(client: TestClient, id: string): Promise<unknown> {
  const ref = `s${++refs}`;
  const reply = await client.request({ action: 'subscribe', body: key(id) }, ref);
  expect(reply).toEqual({ type: 'ack', ref });
  return dataFrames(client, key(id)).at(-1)?.data;
}

describe('the value cache', () => {
  it(`a storm of ${N} clients resubscribing to one (key, group) costs exactly 1 fetch`, async () => {
    const f = await start({ resumeCacheMs: 60_000 });
    const first = await connect(f.node);
    expect(await subscribeValue(first, '1')).toEqual({ id: '1', v: 0, as: '' });
    await first.close(); // the last subscriber leaves: the key lingers on the bus
    const clients = await Promise.all(Array.from({ length: N }, () => connect(f.node)));
    const values = await Promise.all(clients.map((c) => subscribeValue(c, '1')));
    expect(values).toEqual(Array.from({ length: N }, () => ({ id: '1', v: 0, as: '' })));
    expect(f.fetches.get('1')).toBe(1);
  });

  it(`${N} clients subscribing at once while the first fetch runs join it: 1 fetch`, async () => {
    const f = await start({ resumeCacheMs: 60_000 });
    const gate = deferred();
    f.gate = gate;
    const clients = await Promise.all(Array.from({ length: N }, () => connect(f.node)));
    const pending = clients.map((c) => subscribeValue(c, '1'));
    await expect.poll(() => f.fetches.get('1')).toBe(1);
    gate.resolve();
    expect(await Promise.all(pending)).toEqual(Array.from({ length: N }, () => ({ id: '1', v: 0, as: '' })));
    expect(f.fetches.get('1')).toBe(1);
  });

  it('never crosses groups: two secrets cost 2 fetches, each client gets its own', async () => {
    const f = await start({ resumeCacheMs: 60_000 }, 'secret');
    const clients = await Promise.all(Array.from({ length: N }, () => connect(f.node)));
    for (const [i, client] of clients.entries()) await setSecret(client, i % 2 === 0 ? 'alice' : 'bob');
    const values = await Promise.all(clients.map((c) => subscribeValue(c, '1')));
    expect(values).toEqual(clients.map((_, i) => ({ id: '1', v: 0, as: i % 2 === 0 ? 'alice' : 'bob' })));
    expect(Object.fromEntries(f.fetches)).toEqual({ '1@alice': 1, '1@bob': 1 });
  });

  it('scope client (the default) fetches per connection: a reconnecting client is a new connection, the cache cannot help', async () => {
    const f = await start({ resumeCacheMs: 60_000 }, 'client');
    for (let i = 0; i < 3; i++) {
      const c = await connect(f.node);
      await subscribeValue(c, '1');
      await c.close();
    }
    expect(f.fetches.get('1@')).toBe(3);
  });

  it('a notify seen on this node (from another node) drops the value: the next subscriber gets the new one', async () => {
    const broker = new MemoryBroker();
    const f = await start({ broker, resumeCacheMs: 60_000 });
    const writer = await startNode(() => undefined, { broker });
    const first = await connect(f.node);
    expect(await subscribeValue(first, '1')).toEqual({ id: '1', v: 0, as: '' });
    await first.close(); // nobody holds the key here: only the lingering bus subscription sees the change
    f.store.set('1', 1);
    await writer.sync.notifyAllOfChange(key('1'));
    await expect.poll(() => f.node.sync.stats().busMessagesReceived).toBe(1);
    const second = await connect(f.node);
    expect(await subscribeValue(second, '1')).toEqual({ id: '1', v: 1, as: '' });
    expect(f.fetches.get('1')).toBe(2);
  });

  it('a value whose fetch ran across a notify is not served to later subscribers', async () => {
    const f = await start({ resumeCacheMs: 60_000 });
    const holder = await connect(f.node);
    expect(await subscribeValue(holder, '1')).toEqual({ id: '1', v: 0, as: '' });
    // A fetch of v1 starts, then v2 is written and notified while it runs.
    const slow = deferred();
    f.gate = slow;
    f.store.set('1', 1);
    await f.node.sync.notifyAllOfChange(key('1'));
    await expect.poll(() => f.fetches.get('1')).toBe(2);
    f.store.set('1', 2);
    await f.node.sync.notifyAllOfChange(key('1'));
    // v1 arrives (the holder saw its notify); the fetch of v2 is held.
    const refetch = deferred();
    f.gate = refetch;
    slow.resolve();
    await holder.next((m) => m.type === 'data' && m.data.v === 1);
    await expect.poll(() => f.fetches.get('1')).toBe(3);
    // A newcomer must not get v1: it saw nothing, and the node has seen the notify of v2.
    const newcomer = await connect(f.node);
    const pending = subscribeValue(newcomer, '1');
    // Its subscribe is in (microtasks run before the next poll): only now may the refetch end.
    await expect.poll(() => f.node.sync.stats().subscriptions).toBe(2);
    refetch.resolve();
    await pending;
    await newcomer.waitFor((m) => m.type === 'data' && m.data.v === 2);
    expect(dataFrames(newcomer, key('1')).map((m) => m.data.v)).toEqual([2]);
  });

  it('holds at most resumeCacheSize values: the oldest go first', async () => {
    const f = await start({ resumeCacheMs: 60_000, resumeCacheSize: 2 });
    const first = await connect(f.node);
    for (const id of ['1', '2', '3']) await subscribeValue(first, id);
    await first.close();
    const second = await connect(f.node);
    await subscribeValue(second, '3'); // kept
    await subscribeValue(second, '2'); // kept
    await subscribeValue(second, '1'); // evicted by 3
    expect(Object.fromEntries(f.fetches)).toEqual({ '1': 2, '2': 1, '3': 1 });
  });

  it('keeps a value at most resumeCacheMs', async () => {
    const f = await start({ resumeCacheMs: 100 });
    const first = await connect(f.node);
    await subscribeValue(first, '1');
    await sleep(300); // past the lifetime (a noisy machine only makes it longer)
    const second = await connect(f.node);
    await subscribeValue(second, '1');
    expect(f.fetches.get('1')).toBe(2);
  });

  it('resumeCacheMs: 0 turns it off: every subscriber fetches, and the key leaves the bus with its last subscriber', async () => {
    const f = await start({ resumeCacheMs: 0 });
    const first = await connect(f.node);
    await subscribeValue(first, '1');
    const second = await connect(f.node);
    await subscribeValue(second, '1');
    expect(f.fetches.get('1')).toBe(2);
    await first.close();
    await second.close();
    await expect.poll(() => f.node.sync.stats().busSubscriptions).toBe(0);
  });

  it('resumeCacheSize: 0 turns it off too', async () => {
    const f = await start({ resumeCacheSize: 0 });
    const first = await connect(f.node);
    await subscribeValue(first, '1');
    const second = await connect(f.node);
    await subscribeValue(second, '1');
    expect(f.fetches.get('1')).toBe(2);
  });

  it('bad options are INVALID_OPTIONS', async () => {
    const { createEntitySync } = await import('@entity-sync/core');
    for (const bad of [{ resumeCacheMs: -1 }, { resumeCacheMs: 1.5 }, { resumeCacheSize: -1 }, { resumeCacheSize: '10' }]) {
      expect(() => createEntitySync(bad as EntitySyncOptions)).toThrow(/INVALID_OPTIONS|resumeCache/);
    }
  });
});

import { MemoryBroker } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connect, deferred, setSecret, startNode, subscribe } from './support.js';

afterEach(closeAll);

const key = { entity: 'items', id: '1' };

describe('fetch scheduling', () => {
  it('collapses a burst of 1,000 notifies during a fetch into one follow-up per group', async () => {
    let calls = 0;
    let gate = deferred();
    const node = await startNode((sync) =>
      sync.registerEntity('items', {
        scope: 'secret',
        fetch: async () => {
          calls++;
          await gate.promise;
          return { calls };
        },
      }),
    );
    const clients = await Promise.all([0, 1, 2].map(() => connect(node)));
    await Promise.all(clients.map((c, i) => setSecret(c, i === 2 ? 'b' : 'a')));
    gate.resolve();
    await Promise.all(clients.map((c) => subscribe(c, key)));
    const before = calls;
    gate = deferred();
    await node.sync.notifyAllOfChange(key); // starts one fetch per group (secrets a and b)
    await expect.poll(() => calls).toBe(before + 2);
    await Promise.all(Array.from({ length: 1000 }, () => node.sync.notifyAllOfChange(key)));
    gate.resolve();
    await expect.poll(() => calls).toBe(before + 4); // exactly one follow-up per group
    await expect.poll(() => node.sync.stats().fetchesInFlight).toBe(0);
    expect(calls).toBe(before + 4);
    // Every client ends with a value from its group's follow-up fetch (the 3rd or 4th call).
    for (const c of clients) await c.waitFor((f) => f.type === 'data' && f.data.calls > before + 2);
  });

  it('shared scope fetches once per node and sends the same bytes to every subscriber', async () => {
    let calls = 0;
    const node = await startNode((sync) => sync.registerEntity('items', { scope: 'shared', fetch: () => ({ n: ++calls }) }));
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect(node)));
    await Promise.all(clients.map((c) => subscribe(c, key)));
    const before = calls;
    await node.sync.notifyAllOfChange(key);
    for (const c of clients) await c.waitFor((f) => f.type === 'data' && f.data.n === before + 1);
    expect(calls).toBe(before + 1);
    const frames = clients.map((c) => c.frames[c.frames.length - 1]);
    expect(new Set(frames).size).toBe(1);
  });

  it('secret scope fetches once per distinct secret, with that secret', async () => {
    const seen: string[] = [];
    const node = await startNode((sync) =>
      sync.registerEntity('items', {
        scope: 'secret',
        fetch: (_key, ctx) => {
          seen.push(ctx.secret);
          return { for: ctx.secret };
        },
      }),
    );
    const secrets = ['a', 'a', 'b', 'b', 'b', 'c'];
    const clients = await Promise.all(secrets.map(() => connect(node)));
    await Promise.all(clients.map((c, i) => setSecret(c, secrets[i]!)));
    await Promise.all(clients.map((c) => subscribe(c, key)));
    seen.length = 0;
    await node.sync.notifyAllOfChange(key);
    for (const [i, c] of clients.entries()) {
      await c.waitFor((f) => f.type === 'data' && f.data.for === secrets[i]);
    }
    await expect.poll(() => node.sync.stats().fetchesInFlight).toBe(0);
    expect(seen.sort()).toEqual(['a', 'b', 'c']);
  });

  it('client scope fetches once per connection with its own secret', async () => {
    const seen: Array<string | undefined> = [];
    const node = await startNode((sync) =>
      sync.registerEntity('items', {
        fetch: (_key, ctx) => {
          seen.push(ctx.clientId);
          return { secret: ctx.secret };
        },
      }),
    );
    const clients = await Promise.all([0, 1, 2].map(() => connect(node)));
    await Promise.all(clients.map((c, i) => setSecret(c, `s${i}`)));
    await Promise.all(clients.map((c) => subscribe(c, key)));
    seen.length = 0;
    await node.sync.notifyAllOfChange(key);
    for (const [i, c] of clients.entries()) await c.waitFor((f) => f.type === 'data' && f.data.secret === `s${i}`);
    expect(new Set(seen).size).toBe(3);
  });

  it('never runs more than maxConcurrentFetches at once', async () => {
    let running = 0;
    let peak = 0;
    const node = await startNode(
      (sync) =>
        sync.registerEntity('items', {
          fetch: async (k) => {
            running++;
            peak = Math.max(peak, running);
            await new Promise((r) => setImmediate(r));
            running--;
            return k.id;
          },
        }),
      { maxConcurrentFetches: 2 },
    );
    const client = await connect(node);
    const keys = Array.from({ length: 10 }, (_, i) => ({ entity: 'items', id: String(i) }));
    const reply = await client.request({ action: 'subscribe', body: keys }, 'all');
    expect(reply).toEqual({ type: 'ack', ref: 'all' });
    await node.sync.notifyAllOfChange(keys);
    await expect.poll(() => node.sync.stats().fetchesStarted).toBe(20);
    await expect.poll(() => node.sync.stats().fetchesInFlight).toBe(0);
    expect(peak).toBe(2);
  });

  it('times out a hanging fetch, frees its slot, and a later fetch still works', async () => {
    let hang = true;
    const node = await startNode(
      (sync) =>
        sync.registerEntity('items', {
          fetch: (_k, ctx) =>
            hang ? new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(new Error('aborted')))) : { ok: true },
        }),
      { fetchTimeoutMs: 50, maxConcurrentFetches: 1 },
    );
    const client = await connect(node);
    const reply = await client.request({ action: 'subscribe', body: key }, 1);
    expect(reply).toMatchObject({ type: 'error', ref: 1, code: 'FETCH_TIMEOUT', entity: 'items', id: '1' });
    hang = false;
    await node.sync.notifyAllOfChange(key);
    await client.waitFor((f) => f.type === 'data' && f.data.ok === true);
  });

  it('a notify from this node fetches once locally; its own bus echo is skipped', async () => {
    let calls = 0;
    const broker = new MemoryBroker();
    const node = await startNode((sync) => sync.registerEntity('items', { fetch: () => ({ n: ++calls }) }), { broker });
    const client = await connect(node);
    await subscribe(client, key);
    const before = calls;
    await node.sync.notifyAllOfChange(key);
    await client.waitFor((f) => f.type === 'data' && f.data.n === before + 1);
    // A second notify is a barrier: had the echo caused a fetch, n would have skipped a value.
    await node.sync.notifyAllOfChange(key);
    await client.waitFor((f) => f.type === 'data' && f.data.n === before + 2);
    expect(calls).toBe(before + 2);
    expect(node.sync.stats().busMessagesReceived).toBe(0);
  });
});

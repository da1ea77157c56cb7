import { MemoryBroker } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connect, deferred, setSecret, startNode, subscribe } from './support.js';

afterEach(closeAll);

const secretKey = { entity: 'docs', id: 'private-1' };

async function node(broker = new MemoryBroker()) {
  const store = new Map<string, unknown>([['private-1', { v: 1 }]]);
  const authorized: string[] = [];
  const n = await startNode(
    (sync) =>
      sync.registerEntity('docs', {
        fetch: (key, ctx) => ({ ...(store.get(key.id) as object), as: ctx.secret }),
        authorize: (key, ctx) => {
          authorized.push(ctx.secret);
          return !key.id.startsWith('private-') || ctx.secret === 'admin';
        },
      }),
    { broker },
  );
  return { ...n, store, authorized };
}

describe('authorization and secret changes', () => {
  it('a secret change while the bus confirmation is pending re-authorizes the subscribe under the new secret', async () => {
    // A broker 100 ms away: `authorize` answers under 'admin' long before the bus confirms.
    const n = await node(new MemoryBroker({ subscribeLatency: 100 }));
    const client = await connect(n);
    await setSecret(client, 'admin');
    client.send({ action: 'subscribe', body: secretKey, ref: 'sub' });
    await expect.poll(() => n.authorized).toEqual(['admin']);
    client.send({ action: 'secret', body: 'guest', ref: 'guest' });
    const reply = await client.next((f) => f.ref === 'sub');
    expect(reply).toMatchObject({ type: 'error', code: 'FORBIDDEN', entity: 'docs', id: 'private-1' });
    expect(n.authorized).toEqual(['admin', 'guest']);
    n.store.set('private-1', { v: 2 });
    await n.sync.notifyAllOfChange(secretKey);
    await subscribe(client, { entity: 'docs', id: 'public' }); // barrier
    expect(client.messages.filter((f: any) => f.type === 'data' && f.id === 'private-1')).toEqual([]);
  });

  it('holds a forbidden key, sends its snapshot when a new secret allows it, and stops when forbidden again', async () => {
    const n = await node();
    const { sync, store } = n;
    const client = await connect(n);
    const reply = await client.request({ action: 'subscribe', body: secretKey }, 1);
    expect(reply).toMatchObject({ type: 'error', code: 'FORBIDDEN', ref: 1, entity: 'docs', id: 'private-1' });

    await setSecret(client, 'admin');
    await client.next((f) => f.type === 'data' && f.data.as === 'admin');

    await setSecret(client, 'guest');
    await client.next((f) => f.type === 'error' && f.code === 'FORBIDDEN' && f.ref === undefined);
    store.set('private-1', { v: 2 });
    await sync.notifyAllOfChange(secretKey);
    // Barrier: an allowed key's change arrives; nothing for the forbidden key came before it.
    await subscribe(client, { entity: 'docs', id: 'public' });
    store.set('public', { v: 3 });
    await sync.notifyAllOfChange({ entity: 'docs', id: 'public' });
    await client.next((f) => f.type === 'data' && f.id === 'public');
    expect(client.messages.filter((f: any) => f.type === 'data' && f.data.v === 2)).toEqual([]);
  });

  it('never delivers a value fetched with the old secret after the new secret is acked', async () => {
    const slow = deferred();
    const n = await startNode((sync) =>
      sync.registerEntity('docs', {
        fetch: async (_key, ctx) => {
          if (ctx.secret === 'old') await slow.promise;
          return { as: ctx.secret };
        },
      }),
    );
    const client = await connect(n);
    await setSecret(client, 'new-0');
    await subscribe(client, secretKey);
    await setSecret(client, 'old');
    await n.sync.notifyAllOfChange(secretKey); // starts a slow fetch with secret "old"
    await expect.poll(() => n.sync.stats().fetchesInFlight).toBe(1);
    await setSecret(client, 'new');
    slow.resolve();
    await client.waitFor((f) => f.type === 'data' && f.data.as === 'new');
    await expect.poll(() => n.sync.stats().fetchesInFlight).toBe(0);
    expect(client.messages.filter((f: any) => f.type === 'data' && f.data.as === 'old')).toEqual([]);
  });

  it('re-fetches every key with the new secret', async () => {
    const n = await node();
    const client = await connect(n);
    const keys = ['a', 'b', 'c'].map((id) => ({ entity: 'docs', id }));
    await client.request({ action: 'subscribe', body: keys }, 'k');
    await setSecret(client, 'alice');
    for (const k of keys) await client.waitFor((f) => f.type === 'data' && f.id === k.id && f.data.as === 'alice');
  });
});

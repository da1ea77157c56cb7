import { createEntitySync, type EntitySync } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningServer, serve } from './support/server.js';
import { TestClient, Teardown } from '@entity-sync/testing';

const leftovers = new Teardown();
afterEach(leftovers.run);

async function setup(): Promise<{ sync: EntitySync; server: RunningServer; store: Map<string, unknown> }> {
  const store = new Map<string, unknown>([['100', { id: '100', closed: false }]]);
  const sync = createEntitySync();
  sync.registerEntity('items', { fetch: (key) => store.get(key.id) ?? null });
  const server = await serve(sync);
  leftovers.push(sync, server);
  return { sync, server, store };
}

async function client(url: string, protocol: 'v1' | 'legacy'): Promise<TestClient> {
  const c = await TestClient.connect(url, { protocol });
  leftovers.push(c);
  return c;
}

describe('one subscribe and one notify', () => {
  it('v1: connected, snapshot, ack, then the change as a data envelope', async () => {
    const { sync, server, store } = await setup();
    const c = await client(server.url, 'v1');
    expect(await c.next()).toEqual({ type: 'connected', protocol: 1 });
    c.send({ action: 'subscribe', body: { entity: 'items', id: '100' }, ref: 1 });
    expect(await c.next()).toEqual({ type: 'data', entity: 'items', id: '100', data: { id: '100', closed: false } });
    expect(await c.next()).toEqual({ type: 'ack', ref: 1 });
    store.set('100', { id: '100', closed: true });
    await sync.notifyAllOfChange({ entity: 'items', id: '100' });
    expect(await c.next()).toEqual({ type: 'data', entity: 'items', id: '100', data: { id: '100', closed: true } });
  });

  it('legacy: nothing on connect or subscribe, then exactly the value on change', async () => {
    const { sync, server, store } = await setup();
    const c = await client(server.url, 'legacy');
    expect(c.ws.protocol).toBe('');
    c.send({ action: 'subscribe', body: { entity: 'items', id: '100' } });
    // A v1 client subscribed after the legacy one has its ack: the legacy subscribe is done.
    const probe = await client(server.url, 'v1');
    await probe.request({ action: 'subscribe', body: { entity: 'items', id: '100' } }, 1);
    store.set('100', { id: '100', closed: true });
    await sync.notifyAllOfChange({ entity: 'items', id: '100' });
    await probe.next((f) => f.type === 'data' && f.data.closed === true);
    await expect.poll(() => c.frames).toEqual(['{"id":"100","closed":true}']);
  });
});

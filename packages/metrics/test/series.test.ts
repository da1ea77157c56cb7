import { type EntitySync, MemoryBroker, type SocketLike } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Backend, collect, connect, leftovers, otel, prometheus, startNode, subscribe } from './support.js';

/**
 * The same series through both backends, against a real node: real WebSocket clients subscribe,
 * fail, leave; notifies go through a real MemoryBroker, which is taken down and up.
 */
afterEach(leftovers.run);

const node1 = { node: 'n1' };

function itemsFrom(db: Map<string, { id: string; title: string }>) {
  return async (key: { id: string }) => {
    await new Promise((resolve) => setImmediate(resolve)); // a real await, so notifies can coalesce
    return db.get(key.id) ?? null;
  };
}

function registerAll(sync: EntitySync, db: Map<string, { id: string; title: string }>): void {
  sync.registerEntity('items', { scope: 'shared', fetch: itemsFrom(db) });
  sync.registerEntity('broken', {
    fetch: () => {
      throw new Error('db down');
    },
  });
  // Never answers: fails with FETCH_TIMEOUT once the node gives up (fetchTimeoutMs).
  sync.registerEntity('stuck', { fetch: (_key, ctx) => new Promise((_, reject) => ctx.signal.addEventListener('abort', reject)) });
}

describe.each<Backend>([prometheus, otel])('$name', (backend) => {
  it('gauges follow subscribes and disconnects; fetches count by entity and outcome; closes by code', async () => {
    const db = new Map([
      ['1', { id: '1', title: 'one' }],
      ['2', { id: '2', title: 'two' }],
    ]);
    const node = await startNode((sync) => registerAll(sync, db), { fetchTimeoutMs: 100 });
    const m = collect(backend, node.sync, { labels: node1 });
    expect(await m.value('connections')).toBe(0);
    expect(await m.value('busUp')).toBe(1);

    const [a, b] = [await connect(node), await connect(node)];
    expect((await subscribe(a!, 'items', '1')).type).toBe('ack');
    expect((await subscribe(a!, 'items', '2')).type).toBe('ack');
    expect((await subscribe(b!, 'items', '1')).type).toBe('ack');
    expect(await subscribe(b!, 'broken', '1')).toMatchObject({ type: 'error', code: 'FETCH_FAILED' });
    expect(await subscribe(b!, 'stuck', '1')).toMatchObject({ type: 'error', code: 'FETCH_TIMEOUT' });

    expect(await m.value('connections')).toBe(2);
    expect(await m.value('connectionsOpened', { protocol: 'v1' })).toBe(2);
    // A key whose fetch failed is held too (the next change fetches again): 4 keys, 5 subscriptions.
    expect(await m.value('keys')).toBe(4);
    expect(await m.value('subscriptions')).toBe(5);
    expect(await m.value('busSubscriptions')).toBe(4);
    expect(await m.value('fetches', { entity: 'items', outcome: 'ok' })).toBe(2); // b's items/1 comes from the value cache
    expect(await m.value('fetches', { entity: 'broken', outcome: 'error' })).toBe(1);
    expect(await m.value('fetches', { entity: 'stuck', outcome: 'timeout' })).toBe(1);
    expect(await m.value('fetches', { entity: 'items', outcome: 'error' })).toBeUndefined();
    expect((await m.histogram('fetchDuration', { entity: 'items' }))?.count).toBe(2);
    const stuck = await m.histogram('fetchDuration', { entity: 'stuck' });
    expect(stuck?.sum).toBeGreaterThanOrEqual(0.09); // it ran until the 100 ms timeout
    expect(await m.value('framesSent')).toBeGreaterThanOrEqual(3 + 3 + 2); // acks, values, errors
    expect(await m.value('bytesSent')).toBeGreaterThan(0);

    await b!.close();
    await expect.poll(() => m.value('connections')).toBe(1);
    expect(await m.value('connectionsClosed', { code: '1005' })).toBe(1); // the client's close without a code
    expect(await m.value('subscriptions')).toBe(2);
    expect(await m.value('keys')).toBe(2);
    // The keys b alone held stay on the bus for resumeCacheMs, so a reconnect finds them cached.
    expect(await m.value('busSubscriptions')).toBe(4);

    await node.sync.close(); // 1001 to every client
    expect(await m.value('connectionsClosed', { code: '1001' })).toBe(1);
    expect(await m.value('connections')).toBe(0);
  });

  it('notifies: freshness, coalesced fetches, frames and bytes', async () => {
    const db = new Map([['1', { id: '1', title: 'one' }]]);
    const node = await startNode((sync) => registerAll(sync, db));
    const m = collect(backend, node.sync);
    const client = await connect(node);
    await subscribe(client, 'items', '1');
    await client.waitFor((f) => f.type === 'data');
    const frames = (await m.value('framesSent'))!;
    const bytes = (await m.value('bytesSent'))!;
    expect(await m.histogram('freshness', { entity: 'items' })).toBeUndefined(); // a subscribe is no change

    db.set('1', { id: '1', title: 'changed' });
    await node.sync.notifyAllOfChange({ entity: 'items', id: '1' });
    await client.waitFor((f) => f.type === 'data' && JSON.stringify(f).includes('changed'));
    expect(await m.value('framesSent')).toBe(frames + 1);
    expect(await m.value('bytesSent')).toBeGreaterThan(bytes);
    await expect.poll(async () => (await m.histogram('freshness', { entity: 'items' }))?.count).toBe(1);

    // Two notifies while a fetch is on its way: the second is absorbed by a follow-up fetch.
    expect(await m.value('fetchesCoalesced')).toBe(0);
    await node.sync.notifyAllOfChange([
      { entity: 'items', id: '1' },
      { entity: 'items', id: '1' },
    ]);
    await expect.poll(() => m.value('fetchesInFlight')).toBe(0);
    expect(await m.value('fetchesCoalesced')).toBe(1);
    expect(await m.value('fetches', { entity: 'items', outcome: 'ok' })).toBe(4); // subscribe, notify, running one, follow-up
  });

  it('bus down and up: bus_up, buffered publishes, resyncs by reason with their keys', async () => {
    const broker = new MemoryBroker();
    const db = new Map([
      ['1', { id: '1', title: 'one' }],
      ['2', { id: '2', title: 'two' }],
    ]);
    const node = await startNode((sync) => registerAll(sync, db), { broker });
    const m = collect(backend, node.sync);
    const client = await connect(node);
    await subscribe(client, 'items', '1');
    await subscribe(client, 'items', '2');

    broker.setDown(true);
    expect(await m.value('busUp')).toBe(0);
    expect(await m.value('busStatusChanges', { status: 'down' })).toBe(1);
    const published = node.sync.notifyAllOfChange({ entity: 'items', id: '1' });
    await expect.poll(() => m.value('publishesBuffered')).toBe(1); // the publish goes out a microtask later

    broker.setDown(false);
    await published;
    expect(await m.value('busUp')).toBe(1);
    expect(await m.value('busStatusChanges', { status: 'up' })).toBe(1);
    expect(await m.value('publishesBuffered')).toBe(0);
    expect(await m.value('resyncs', { reason: 'bus' })).toBe(1);
    expect(await m.value('resyncedKeys', { reason: 'bus' })).toBe(2);
    expect(await m.value('busMessagesPublished')).toBeGreaterThanOrEqual(1);

    await node.sync.resyncAll();
    expect(await m.value('resyncs', { reason: 'local' })).toBe(1);
    expect(await m.value('resyncedKeys', { reason: 'local' })).toBe(2);
  });

  it('slow consumers: conflated values, then the 4008 close', async () => {
    const db = new Map([['1', { id: '1', title: 'v0' }]]);
    const node = await startNode((sync) => registerAll(sync, db), { highWaterMark: 1, maxBufferedBytes: 2_000 });
    const m = collect(backend, node.sync);
    // A transport whose socket stopped writing: bufferedAmount stays over the high-water mark.
    const socket = new StalledSocket();
    const handle = node.sync.accept(socket, { protocol: 'v1' });
    handle.receive(JSON.stringify({ action: 'subscribe', ref: 's', body: { entity: 'items', id: '1' } }));
    await expect.poll(() => socket.sent.some((f) => f.includes('"data"'))).toBe(true);
    socket.bufferedAmount = 100;

    const change = async (title: string) => {
      db.set('1', { id: '1', title });
      await node.sync.notifyAllOfChange({ entity: 'items', id: '1' });
      await expect.poll(() => m.value('fetchesInFlight')).toBe(0);
    };
    await change('v1'); // waits in the outbox
    await change('v2'); // replaces v1
    await change('v3'); // replaces v2
    expect(await m.value('conflated')).toBe(2);
    expect(await m.value('connectionsClosed', { code: '4008' })).toBeUndefined();

    await change('x'.repeat(4_000)); // over maxBufferedBytes
    expect(socket.closedWith).toBe(4008);
    expect(await m.value('connectionsClosed', { code: '4008' })).toBe(1);
    expect(await m.value('connections')).toBe(0);
  });

  it('freshness across two nodes: from the notify on A to the frames written on B', async () => {
    const broker = new MemoryBroker({ deliveryLatency: 15 });
    const db = new Map([['1', { id: '1', title: 'one' }]]);
    const [a, b] = await Promise.all([startNode((s) => registerAll(s, db), { broker }), startNode((s) => registerAll(s, db), { broker })]);
    const onA = collect(backend, a.sync, { labels: { node: 'a' } });
    const onB = collect(backend, b.sync, { labels: { node: 'b' } });
    const client = await connect(b);
    await subscribe(client, 'items', '1');

    db.set('1', { id: '1', title: 'changed' });
    await a.sync.notifyAllOfChange({ entity: 'items', id: '1' }, { changedAt: Date.now() - 100 });
    await expect.poll(async () => (await onB.histogram('freshness', { entity: 'items' }))?.count).toBe(1);
    const fresh = await onB.histogram('freshness', { entity: 'items' });
    expect(fresh!.sum).toBeGreaterThanOrEqual(0.115); // 100 ms before the notify, plus the bus's 15 ms
    expect(await onA.histogram('freshness', { entity: 'items' })).toBeUndefined(); // A has no subscriber
    expect(await onA.value('busMessagesPublished')).toBe(1);
    expect(await onB.value('busMessagesReceived')).toBe(1);
  });
});

/** A transport's socket that accepted frames but writes none out (a client that stopped reading). */
class StalledSocket implements SocketLike {
  readonly sent: string[] = [];
  bufferedAmount = 0;
  closedWith: number | undefined;

  send(data: string | Uint8Array): void {
    this.sent.push(typeof data === 'string' ? data : new TextDecoder().decode(data));
  }

  close(code: number): void {
    this.closedWith = code;
  }
}

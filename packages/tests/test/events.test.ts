import { type createEntitySync, MemoryBroker, type NodeEvents } from '@entity-sync/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { closeAll, connect, startNode, subscribe } from './support.js';

/** What operators observe: node events, stats counters, and failures that are never silent. */
afterEach(closeAll);

function record<K extends keyof NodeEvents>(events: Array<[K, NodeEvents[K]]>, name: K) {
  return (event: NodeEvents[K]) => events.push([name, event]);
}

describe('node events', () => {
  it('connections, bus status, resyncs, fetches and failures', async () => {
    const broker = new MemoryBroker();
    const events: Array<[string, unknown]> = [];
    const node = await startNode(
      (sync) => {
        sync.registerEntity('items', { fetch: (key) => ({ id: key.id }) });
        sync.registerEntity('broken', {
          fetch: () => {
            throw new Error('db down');
          },
        });
        for (const name of ['connection', 'bus', 'resync', 'fetch', 'fetchFailed'] as const) sync.on(name, record(events as never, name));
      },
      { broker, onError: () => {} },
    );
    const client = await connect(node);
    await subscribe(client, { entity: 'items', id: '1' });
    await client.request({ action: 'subscribe', body: { entity: 'broken', id: '1' } }, 'b');
    broker.setDown(true);
    broker.setDown(false);
    await client.close();
    await expect.poll(() => events.some(([name, e]) => name === 'connection' && (e as { type: string }).type === 'closed')).toBe(true);

    const named = (name: string) => events.filter(([n]) => n === name).map(([, e]) => e);
    expect(named('connection')).toEqual([
      { type: 'opened', clientId: expect.any(String), protocol: 'v1' },
      { type: 'closed', clientId: expect.any(String), protocol: 'v1', code: 1005 },
    ]);
    expect(named('bus')).toEqual([{ status: 'up' }, { status: 'down' }, { status: 'up' }]); // the first is the start
    expect(named('resync')).toEqual([
      { reason: 'bus', keys: 0 },
      { reason: 'bus', keys: 2 },
    ]);
    expect(named('fetch')).toContainEqual({ entity: 'items', ms: expect.any(Number), ok: true });
    expect(named('fetch')).toContainEqual({ entity: 'broken', ms: expect.any(Number), ok: false, code: 'FETCH_FAILED' });
    expect(named('fetchFailed')).toContainEqual({
      entity: 'broken',
      code: 'FETCH_FAILED',
      error: expect.objectContaining({ code: 'FETCH_FAILED' }),
    });
  });

  it('freshness: from the notify on one node to the frames written on another', async () => {
    const broker = new MemoryBroker({ deliveryLatency: 15 });
    const register = (sync: ReturnType<typeof createEntitySync>) => sync.registerEntity('items', { fetch: (key) => ({ id: key.id }) });
    const [a, b] = await Promise.all([startNode(register, { broker }), startNode(register, { broker })]);
    const fresh: Array<NodeEvents['freshness']> = [];
    b!.sync.on('freshness', (e) => fresh.push(e));
    const client = await connect(b!);
    await subscribe(client, { entity: 'items', id: '1' });
    await a!.sync.notifyAllOfChange({ entity: 'items', id: '1' }, { changedAt: Date.now() - 100 });
    await expect.poll(() => fresh.length).toBe(1);
    expect(fresh[0]).toMatchObject({ entity: 'items', subscribers: 1 });
    expect(fresh[0]!.ms).toBeGreaterThanOrEqual(115); // 100 ms before the notify, plus the bus's 15 ms
  });

  it('stats count frames, bytes, encodings and coalesced fetches', async () => {
    const slow = async (key: { id: string }) => {
      await new Promise((resolve) => setImmediate(resolve));
      return { id: key.id };
    };
    const node = await startNode((sync) => sync.registerEntity('items', { scope: 'shared', fetch: slow }));
    const clients = [await connect(node), await connect(node)];
    for (const c of clients) await subscribe(c, { entity: 'items', id: '1' });
    const before = node.sync.stats();
    await node.sync.notifyAllOfChange([
      { entity: 'items', id: '1' },
      { entity: 'items', id: '1' },
    ]);
    await expect.poll(() => node.sync.stats().fetchesInFlight).toBe(0);
    const after = node.sync.stats();
    expect(after.fetchesCoalesced - before.fetchesCoalesced).toBe(1);
    expect(after.encodings - before.encodings).toBe(2); // the running fetch, and one follow-up for the second notify
    // The value is unchanged, so no frame: skip-unchanged.
    expect(after.framesSent).toBe(before.framesSent);
    expect(before.bytesSent).toBeGreaterThan(0);
  });
});

describe('failures are never silent', () => {
  it('with no logger and no onError, a failing fetch handler is reported once per entity and code on stderr', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      const node = await startNode((sync) =>
        sync.registerEntity('broken', {
          fetch: () => {
            throw new Error('db down');
          },
        }),
      );
      const client = await connect(node);
      for (let i = 0; i < 3; i++) await client.request({ action: 'subscribe', body: { entity: 'broken', id: String(i) } }, i);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/fetch of broken\/0 failed: db down .*pass onError or logger/);
      expect(warn.mock.calls[0]![1]).toBe('EntitySyncWarning');
    } finally {
      warn.mockRestore();
    }
  });
});

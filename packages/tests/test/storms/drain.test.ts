import { TestClient } from '@entity-sync/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connect, startNode } from '../support.js';
import { dataFrames } from './frames.js';

/**
 * Issue 11, deploys: `drain({ drainMs })` and `close({ drainMs })` close every connection with
 * 1012, one after the other, spread over the window; the node keeps serving the others until
 * their turn and refuses new ones (503 at the transport); `close` then closes the node.
 */
afterEach(closeAll);

const N = 8;
const DRAIN_MS = 1_600;
const KEY = { entity: 'items', id: '1' };

async function start() {
  let v = 0;
  const node = await startNode((sync) => sync.registerEntity('items', { scope: 'shared', fetch: () => ({ v }) }));
  const clients: TestClient[] = [];
  for (let i = 0; i < N; i++) {
    const client = await connect(node, { protocol: i % 2 === 0 ? 'v1' : 'legacy' });
    if (i % 2 === 0) expect(await client.request({ action: 'subscribe', body: KEY }, 's')).toEqual({ type: 'ack', ref: 's' });
    else client.send({ action: 'subscribe', body: KEY }); // legacy: no initial value, no ack
    clients.push(client);
  }
  await expect.poll(() => node.sync.stats().subscriptions).toBe(N);
  /** When each client saw its close, and with which code. */
  const closes = clients.map((c) => c.closed.then(({ code }) => ({ code, at: Date.now() })));
  return { node, clients, closes, write: () => ++v };
}

describe('drain', () => {
  it('close({ drainMs }) closes every connection with 1012 spread over the window, serving the rest meanwhile, then closes', async () => {
    const { node, clients, closes, write } = await start();
    const closing = node.sync.close({ drainMs: DRAIN_MS });
    expect(node.sync.draining).toBe(true);
    // New connections are refused while it drains.
    await expect(TestClient.connect(node.server.url)).rejects.toThrow('HTTP 503');
    // The first client is closed at once; the last one is still served.
    await closes[0];
    const last = clients.at(-1)!; // connected last, closed last
    write();
    await node.sync.notifyAllOfChange(KEY);
    // Legacy frames are the bare value.
    await last.waitFor((f) => f.v === 1);
    // A v1 client still waiting for its turn can subscribe.
    const waiting = clients.at(-2)!;
    expect(await waiting.request({ action: 'subscribe', body: { entity: 'items', id: '2' } }, 'late')).toEqual({
      type: 'ack',
      ref: 'late',
    });
    const done = await Promise.all(closes);
    expect(done.map((c) => c.code)).toEqual(Array.from({ length: N }, () => 1012));
    const spread = done.at(-1)!.at - done[0]!.at;
    // Closes go at i * drainMs / N: the last at 7/8 of the window. Timers only run late, so
    // asserting at least half the window is loose and never flaky.
    expect(spread).toBeGreaterThanOrEqual(DRAIN_MS / 2);
    await closing;
    await expect(node.sync.notifyAllOfChange(KEY)).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('drain() keeps the node serving after the window: no connections, new ones refused, notifies still work', async () => {
    const { node, clients, closes } = await start();
    await node.sync.drain({ drainMs: 400 });
    expect((await Promise.all(closes)).every((c) => c.code === 1012)).toBe(true);
    expect(node.sync.draining).toBe(true);
    expect(node.sync.stats().connections).toBe(0);
    await expect(TestClient.connect(node.server.url)).rejects.toThrow('HTTP 503');
    await node.sync.notifyAllOfChange(KEY); // the node itself is up
    // A second drain (or close with drainMs) while draining is the same drain.
    await node.sync.drain({ drainMs: 60_000 });
    await node.sync.close({ drainMs: 60_000 });
    expect(clients.every((c) => dataFrames(c).length <= 1)).toBe(true); // nothing after their close
  });

  it('a connection accepted by the node while it drains is closed with 1012', async () => {
    const { node } = await start();
    const draining = node.sync.drain({ drainMs: 200 });
    const socket = { send: () => undefined, close: (code: number) => void closed.push(code), bufferedAmount: 0 };
    const closed: number[] = [];
    node.sync.accept(socket as never, { protocol: 'v1' });
    expect(closed).toEqual([1012]);
    await draining;
  });

  it('a bad drainMs is INVALID_OPTIONS, and changes nothing', async () => {
    const { node, clients } = await start();
    for (const drainMs of [-1, Number.NaN, Number.POSITIVE_INFINITY, '10']) {
      await expect(node.sync.drain({ drainMs } as never)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
      await expect(node.sync.close({ drainMs } as never)).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    }
    expect(node.sync.draining).toBe(false);
    expect(await clients[0]!.request({ action: 'subscribe', body: { entity: 'items', id: '3' } }, 'ok')).toEqual({
      type: 'ack',
      ref: 'ok',
    });
  });

  it('without drainMs, close() closes every connection at once with 1001', async () => {
    const { node, closes } = await start();
    await node.sync.close();
    expect((await Promise.all(closes)).map((c) => c.code)).toEqual(Array.from({ length: N }, () => 1001));
  });
});

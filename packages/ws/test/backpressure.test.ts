import { createEntitySync, type EntitySync } from '@entity-sync/core';
import type { Duplex } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { type RunningServer, serve } from './support/server.js';
import { TestClient, Teardown } from '@entity-sync/testing';

const leftovers = new Teardown();
afterEach(leftovers.run);

const KEYS = Array.from({ length: 50 }, (_, i) => ({ entity: 'items', id: String(i) }));

async function setup(options: { skipUnchanged?: boolean; highWaterMark?: number; maxBufferedBytes?: number; maxSlowMs?: number } = {}) {
  const versions = new Map<string, number>();
  let padding = 'x'.repeat(8 * 1024);
  const setPadding = (bytes: number) => (padding = 'x'.repeat(bytes));
  const sync: EntitySync = createEntitySync(options);
  sync.registerEntity('items', { scope: 'shared', fetch: (key) => ({ v: versions.get(key.id) ?? 0, padding }) });
  const server: RunningServer = await serve(sync);
  leftovers.push(sync, server);
  const connect = async (protocol: 'v1' | 'legacy' = 'v1') => {
    const c = await TestClient.connect(server.url, { protocol });
    leftovers.push(c);
    return c;
  };
  return { sync, versions, connect, setPadding };
}

/**
 * Makes `client` stop reading, as a stalled browser tab would. `ws` resumes its socket by itself
 * when its parser drains, so `resume` is held off until the returned function is called.
 */
function stopReading(client: TestClient): () => void {
  const socket = (client.ws as unknown as { _socket: Duplex })._socket;
  const resume = socket.resume.bind(socket);
  socket.resume = () => socket;
  socket.pause();
  return () => {
    socket.resume = resume;
    socket.resume();
  };
}

describe('backpressure', () => {
  it('conflates values for a client that stops reading, then delivers the latest of every key', async () => {
    const { sync, versions, connect } = await setup({ highWaterMark: 64 * 1024, maxBufferedBytes: 64 * 1024 * 1024 });
    const slow = await connect();
    const fast = await connect();
    for (const c of [slow, fast]) expect(await c.request({ action: 'subscribe', body: KEYS }, 'all')).toEqual({ type: 'ack', ref: 'all' });
    const resume = stopReading(slow);
    const rounds = 150;
    for (let round = 1; round <= rounds; round++) {
      for (const key of KEYS) versions.set(key.id, round);
      await sync.notifyAllOfChange(KEYS);
      await fast.waitFor((f) => f.type === 'data' && f.id === '49' && f.data.v === round, 10_000);
    }
    resume();
    for (const key of KEYS) await slow.waitFor((f) => f.type === 'data' && f.id === key.id && f.data.v === rounds, 20_000);
    const received = slow.messages.filter((f: any) => f.type === 'data').length;
    expect(received).toBeGreaterThan(0);
    // 50 snapshots + at most a few rounds before the buffer filled + one latest value per key.
    expect(received).toBeLessThan((rounds * KEYS.length) / 2);
    // Per key, values never went backwards.
    const last = new Map<string, number>();
    for (const f of slow.messages as any[]) {
      if (f.type !== 'data') continue;
      expect(f.data.v).toBeGreaterThanOrEqual(last.get(f.id) ?? 0);
      last.set(f.id, f.data.v);
    }
  }, 60_000);

  it('closes a slow client past maxBufferedBytes with 4008 and leaves others alone', async () => {
    // Conflation bounds what waits to one value per key, so the limit counts keys x value size:
    // growing values push the slow client (50 keys) over it, not the fast one (10 keys).
    const { sync, versions, connect, setPadding } = await setup({ highWaterMark: 16 * 1024, maxBufferedBytes: 1024 * 1024 });
    const slow = await connect();
    const fast = await connect();
    expect(await slow.request({ action: 'subscribe', body: KEYS }, 'all')).toEqual({ type: 'ack', ref: 'all' });
    expect(await fast.request({ action: 'subscribe', body: KEYS.slice(40) }, 'all')).toEqual({ type: 'ack', ref: 'all' });
    const resume = stopReading(slow);
    let round = 0;
    while (sync.stats().connections === 2 && round < 100) {
      round++;
      setPadding(8 * 1024 + round * 4 * 1024);
      for (const key of KEYS) versions.set(key.id, round);
      await sync.notifyAllOfChange(KEYS);
      await fast.waitFor((f) => f.type === 'data' && f.id === '49' && f.data.v === round, 10_000);
    }
    expect(sync.stats().connections).toBe(1);
    resume();
    expect((await slow.closed).code).toBe(4008);
    versions.set('49', round + 1);
    await sync.notifyAllOfChange(KEYS[49]!);
    await fast.waitFor((f) => f.type === 'data' && f.id === '49' && f.data.v === round + 1);
  }, 60_000);

  it('closes a client that stays over the high-water mark past maxSlowMs', async () => {
    const { sync, versions, connect } = await setup({ highWaterMark: 16 * 1024, maxSlowMs: 300 });
    const slow = await connect();
    await slow.request({ action: 'subscribe', body: KEYS }, 'all');
    const resume = stopReading(slow);
    const started = Date.now();
    for (let round = 1; sync.stats().connections === 1 && Date.now() - started < 20_000; round++) {
      for (const key of KEYS) versions.set(key.id, round);
      await sync.notifyAllOfChange(KEYS);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(sync.stats().connections).toBe(0);
    resume();
    expect((await slow.closed).code).toBe(4008);
  }, 60_000);
});

describe('skip unchanged', () => {
  it('v1 does not resend equal bytes; legacy always sends', async () => {
    const { sync, versions, connect } = await setup();
    const v1 = await connect('v1');
    const legacy = await connect('legacy');
    await v1.request({ action: 'subscribe', body: KEYS[0] }, 1);
    legacy.send({ action: 'subscribe', body: KEYS[0] });
    await v1.request({ action: 'subscribe', body: KEYS[1] }, 2); // the legacy subscribe is done by now
    await sync.notifyAllOfChange(KEYS[0]!); // unchanged
    versions.set('0', 1);
    await sync.notifyAllOfChange(KEYS[0]!);
    await v1.waitFor((f) => f.type === 'data' && f.id === '0' && f.data.v === 1);
    await expect.poll(() => legacy.frames.length).toBe(2);
    expect(v1.messages.filter((f: any) => f.type === 'data' && f.id === '0').map((f: any) => f.data.v)).toEqual([0, 1]);
    expect(legacy.messages.map((f: any) => f.v)).toEqual([0, 1]);
  });

  it('sends every value with skipUnchanged: false', async () => {
    const { sync, connect } = await setup({ skipUnchanged: false });
    const v1 = await connect('v1');
    await v1.request({ action: 'subscribe', body: KEYS[0] }, 1);
    await sync.notifyAllOfChange(KEYS[0]!);
    await expect.poll(() => v1.messages.filter((f: any) => f.type === 'data').length).toBe(2);
  });
});

import { createEntitySync, type EntitySyncOptions } from '@entity-sync/core';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connect, startNode } from '../support.js';
import { dataFrames, errorFrames, sleep } from './frames.js';

/**
 * Issue 11, the per-connection rate limit (core option `rateLimit`, a token bucket): a message
 * past it is dropped; a v1 client gets `RATE_LIMITED` with the message's ref, a legacy client
 * nothing. The connection stays open, and under the limit nothing changes.
 */
afterEach(closeAll);

const BURST = 5;
const key = (id: string) => ({ entity: 'items', id });

async function start(options: EntitySyncOptions) {
  const versions = new Map<string, number>();
  // Synchronous: a notify's frames are written before the notify of the next key is handled.
  const node = await startNode(
    (sync) => sync.registerEntity('items', { scope: 'shared', fetch: (k) => ({ id: k.id, v: versions.get(k.id) ?? 0 }) }),
    options,
  );
  /** Writes and notifies `ids` (their frames are written by the time it resolves). */
  const write = async (ids: string[]) => {
    for (const id of ids) versions.set(id, (versions.get(id) ?? 0) + 1);
    await node.sync.notifyAllOfChange(ids.map(key));
  };
  return { node, write };
}

/** Replies (ack or error) by ref. */
function replies(frames: any[]): Map<unknown, any> {
  return new Map(frames.filter((f) => (f.type === 'ack' || f.type === 'error') && f.ref !== undefined).map((f) => [f.ref, f]));
}

describe('rate limit', () => {
  it('v1: frames past the bucket get RATE_LIMITED (with their ref) and are dropped; the connection stays open', async () => {
    const { node, write } = await start({ rateLimit: { perSecond: 1, burst: BURST } });
    const client = await connect(node);
    const started = Date.now();
    const M = 15;
    for (let i = 0; i < M; i++) client.send({ action: 'subscribe', body: key(String(i)), ref: i });
    await expect.poll(() => replies(client.messages).size).toBe(M);
    const elapsedS = (Date.now() - started) / 1000;
    const byRef = replies(client.messages);
    const acked = [...byRef.values()].filter((f) => f.type === 'ack').map((f) => f.ref);
    const limited = [...byRef.values()].filter((f) => f.code === 'RATE_LIMITED');
    expect(acked.length + limited.length).toBe(M);
    expect(acked.length).toBeGreaterThanOrEqual(BURST);
    expect(acked.length).toBeLessThanOrEqual(BURST + Math.ceil(elapsedS));
    expect(limited[0]).toEqual({ type: 'error', code: 'RATE_LIMITED', message: 'too many messages: slow down', ref: limited[0].ref });
    // Dropped: a rate-limited subscribe holds nothing, so its key's changes never come.
    expect(node.sync.stats().subscriptions).toBe(acked.length);
    client.clear();
    const ids = Array.from({ length: M }, (_, i) => String(i));
    await write(ids);
    await client.waitFor((f) => f.type === 'data' && f.id === String(acked.at(-1)));
    expect(
      dataFrames(client)
        .map((f) => Number(f.id))
        .sort((a, b) => a - b),
    ).toEqual([...acked].sort((a, b) => a - b));
    // Later, with tokens back, it is served again.
    await sleep(1_200);
    expect(await client.request({ action: 'subscribe', body: key('late') }, 'late')).toEqual({ type: 'ack', ref: 'late' });
    expect(errorFrames(client, 'RATE_LIMITED')).toEqual([]);
  });

  it('legacy: the same protection, silently (no frame at all)', async () => {
    const { node, write } = await start({ rateLimit: { perSecond: 1, burst: BURST } });
    const client = await connect(node, { protocol: 'legacy' });
    const M = 15;
    for (let i = 0; i < M; i++) client.send({ action: 'subscribe', body: key(String(i)) });
    // The first BURST are in; the rest arrive within a second or so (at most a refill or two).
    await expect.poll(() => node.sync.stats().subscriptions).toBeGreaterThanOrEqual(BURST);
    const held = node.sync.stats().subscriptions;
    expect(held).toBeLessThan(M);
    expect(client.frames).toEqual([]);
    await write(['0']);
    await client.waitFor((f) => f.id === '0');
    expect(client.frames).toEqual(['{"id":"0","v":1}']);
  });

  it('under the limit nothing changes: the default bucket takes 150 frames at once', async () => {
    const { node } = await start({});
    const client = await connect(node);
    const M = 150;
    for (let i = 0; i < M; i++) client.send({ action: 'unsubscribe', body: key(String(i)), ref: i });
    await expect.poll(() => replies(client.messages).size).toBe(M);
    expect([...replies(client.messages).values()].every((f) => f.type === 'ack')).toBe(true);
  });

  it('rateLimit: false turns it off', async () => {
    const { node } = await start({ rateLimit: false });
    const client = await connect(node);
    const M = 600;
    for (let i = 0; i < M; i++) client.send({ action: 'unsubscribe', body: key(String(i)), ref: i });
    await expect.poll(() => replies(client.messages).size).toBe(M);
    expect(errorFrames(client, 'RATE_LIMITED')).toEqual([]);
  });

  it('bad rateLimit options are INVALID_OPTIONS', () => {
    for (const rateLimit of [true, { perSecond: 0, burst: 1 }, { perSecond: 1, burst: 1.5 }, { perSecond: 1 }, 'fast']) {
      expect(() => createEntitySync({ rateLimit } as unknown as EntitySyncOptions)).toThrow(/rateLimit/);
    }
  });
});

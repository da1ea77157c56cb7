import { valueFingerprint } from '@entity-sync/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connect, startNode } from '../support.js';
import { barrier, dataFrames } from './frames.js';

/**
 * Issue 11, resume by fingerprint, on the raw wire: a v1 client that subscribes again with the
 * fingerprint (`fp`) of the value it holds gets the ack alone when the value did not change, and
 * the value when it did. With the value cache on (the default) and off.
 */
afterEach(closeAll);

const KEY = { entity: 'items', id: '1' };

describe.each([{ resumeCacheMs: 2_000 }, { resumeCacheMs: 0 }])('resume by fingerprint (%o)', (options) => {
  async function start() {
    const store = new Map([['1', { id: '1', title: 'first', tags: ['a', 'b'] }]]);
    let fetches = 0;
    const node = await startNode(
      (sync) =>
        sync.registerEntity('items', {
          scope: 'shared',
          fetch: (key) => {
            fetches++;
            return store.get(key.id) ?? null;
          },
        }),
      options,
    );
    return { node, store, fetches: () => fetches };
  }

  /** Subscribes a fresh client to KEY and returns the value it got. */
  async function holdValue(node: Awaited<ReturnType<typeof start>>['node']): Promise<unknown> {
    const client = await connect(node);
    expect(await client.request({ action: 'subscribe', body: KEY }, 'first')).toEqual({ type: 'ack', ref: 'first' });
    const [frame] = dataFrames(client, KEY);
    await client.close();
    return frame.data;
  }

  it('an unchanged value costs the ack alone; the subscription then streams as usual', async () => {
    const { node, store } = await start();
    const held = await holdValue(node);
    const client = await connect(node);
    const reply = await client.request({ action: 'subscribe', body: { ...KEY, fp: valueFingerprint(held) } }, 'resume');
    expect(reply).toEqual({ type: 'ack', ref: 'resume' });
    await barrier(client);
    expect(dataFrames(client)).toEqual([]);
    // The subscription is live: a change arrives with its body.
    store.set('1', { id: '1', title: 'second', tags: [] });
    await node.sync.notifyAllOfChange(KEY);
    const frame = await client.next((f) => f.type === 'data');
    expect(frame).toEqual({ type: 'data', ...KEY, data: { id: '1', title: 'second', tags: [] } });
  });

  it('a stale fingerprint gets the current value before the ack', async () => {
    const { node, store } = await start();
    const held = await holdValue(node);
    store.set('1', { id: '1', title: 'changed', tags: ['a', 'b'] });
    await node.sync.notifyAllOfChange(KEY);
    const client = await connect(node);
    expect(await client.request({ action: 'subscribe', body: { ...KEY, fp: valueFingerprint(held) } }, 'resume')).toEqual({
      type: 'ack',
      ref: 'resume',
    });
    const frames = client.messages as any[];
    expect(frames.findIndex((f) => f.type === 'data')).toBeLessThan(frames.findIndex((f) => f.type === 'ack'));
    expect(dataFrames(client, KEY).map((f) => f.data)).toEqual([{ id: '1', title: 'changed', tags: ['a', 'b'] }]);
  });

  it('a fingerprint of some other value gets the value; one key of a batch resumes, the other does not', async () => {
    const { node, store } = await start();
    store.set('2', { id: '2', title: 'other', tags: [] });
    const held = await holdValue(node);
    const client = await connect(node);
    const body = [
      { ...KEY, fp: valueFingerprint(held) },
      { entity: 'items', id: '2', fp: valueFingerprint({ id: '2', title: 'what the client thinks', tags: [] }) },
    ];
    expect(await client.request({ action: 'subscribe', body }, 'batch')).toEqual({ type: 'ack', ref: 'batch' });
    expect(dataFrames(client).map((f) => f.id)).toEqual(['2']);
  });

  it('a bad fingerprint is INVALID_KEY', async () => {
    const { node } = await start();
    const client = await connect(node);
    for (const fp of [-1, 1.5, '12', 2 ** 53, null]) {
      const reply = await client.request({ action: 'subscribe', body: { ...KEY, fp } }, `bad-${String(fp)}`);
      expect(reply).toMatchObject({ type: 'error', code: 'INVALID_KEY', ref: `bad-${String(fp)}` });
    }
    expect(dataFrames(client)).toEqual([]);
  });

  it('a resume on another node works the same (the fingerprint is the same on every node)', async () => {
    const { node } = await start();
    const held = await holdValue(node);
    const other = await startNode(
      (sync) => sync.registerEntity('items', { scope: 'shared', fetch: () => ({ id: '1', title: 'first', tags: ['a', 'b'] }) }),
      options,
    );
    const client = await connect(other);
    expect(await client.request({ action: 'subscribe', body: { ...KEY, fp: valueFingerprint(held) } }, 'elsewhere')).toEqual({
      type: 'ack',
      ref: 'elsewhere',
    });
    await barrier(client);
    expect(dataFrames(client)).toEqual([]);
  });
});

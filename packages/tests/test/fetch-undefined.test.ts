import { afterEach, describe, expect, it } from 'vitest';
import { closeAll, connect, startNode, type TestClient } from './support.js';

afterEach(closeAll);

/** The frames a client got after the `connected` greeting. */
const after = (client: TestClient) => (client.messages as Array<{ type: string }>).filter((f) => f.type !== 'connected');

/**
 * A fetch that produces nothing (returns `undefined`, sends nothing through `ctx.send`) sends
 * `null`, as if it had returned `null`: a forgotten `?? null` cannot leave a subscriber waiting
 * for a snapshot that never comes, nor showing a deleted row.
 */
describe('a fetch returning undefined', () => {
  it('v1: the snapshot is null before the ack, and a later undefined replaces a value with null', async () => {
    const store = new Map<string, { title: string }>();
    const node = await startNode((sync) => sync.registerEntity('items', { fetch: (key) => store.get(key.id) }));
    const client = await connect(node);
    await client.next((f) => f.type === 'connected');
    client.send({ action: 'subscribe', body: { entity: 'items', id: '1' }, ref: 's' });
    expect(await client.next()).toEqual({ type: 'data', entity: 'items', id: '1', data: null });
    expect(await client.next()).toEqual({ type: 'ack', ref: 's' });

    store.set('1', { title: 'a' });
    await node.sync.notifyAllOfChange({ entity: 'items', id: '1' });
    expect(await client.next()).toEqual({ type: 'data', entity: 'items', id: '1', data: { title: 'a' } });
    store.delete('1');
    await node.sync.notifyAllOfChange({ entity: 'items', id: '1' });
    expect(await client.next()).toEqual({ type: 'data', entity: 'items', id: '1', data: null });
  });

  it('an async fetch resolving to undefined is null too; legacy gets the bare null', async () => {
    const node = await startNode((sync) => sync.registerEntity('items', { fetch: async () => undefined }));
    const v1 = await connect(node);
    const legacy = await connect(node, { protocol: 'legacy' });
    legacy.send({ action: 'subscribe', body: { entity: 'items', id: '1' } });
    expect(await v1.request({ action: 'subscribe', body: { entity: 'items', id: '1' } }, 's')).toEqual({ type: 'ack', ref: 's' });
    expect(after(v1)).toEqual([
      { type: 'data', entity: 'items', id: '1', data: null },
      { type: 'ack', ref: 's' },
    ]);
    // The legacy subscribe was read before the v1 one, so it is held by now: a change reaches it.
    await node.sync.notifyAllOfChange({ entity: 'items', id: '1' });
    await expect.poll(() => legacy.frames).toEqual(['null']);
  });

  it('with ctx.send, undefined still means "only what was sent": no null is added', async () => {
    const node = await startNode((sync) =>
      sync.registerEntity('items', {
        fetch: (key, ctx) => {
          ctx.send({ part: 1, id: key.id });
          ctx.send({ part: 2, id: key.id });
        },
      }),
    );
    const client = await connect(node);
    expect(await client.request({ action: 'subscribe', body: { entity: 'items', id: '1' } }, 's')).toEqual({ type: 'ack', ref: 's' });
    expect(after(client)).toEqual([
      { type: 'data', entity: 'items', id: '1', data: { part: 1, id: '1' } },
      { type: 'data', entity: 'items', id: '1', data: { part: 2, id: '1' } },
      { type: 'ack', ref: 's' },
    ]);
  });

  it('server code subscribed to the key gets null', async () => {
    const node = await startNode((sync) => sync.registerEntity('items', { fetch: () => undefined }));
    const values: unknown[] = [];
    const stop = await node.sync.subscribe({ entity: 'items', id: '1' }, (value) => values.push(value));
    await expect.poll(() => values).toEqual([null]);
    stop();
  });
});

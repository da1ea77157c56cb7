import { ClientError } from '@entity-sync/client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FakeClient } from './fake-client.test-helper.js';
import { EntityStore, LOADING, SUSPENSE_HOLD_MS, storeFor } from './store.js';

const item1 = { entity: 'items', id: '1' };
const tick = () => new Promise<void>((resolve) => queueMicrotask(resolve));

function setup() {
  const client = new FakeClient();
  return { client, store: new EntityStore(client) };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('EntityStore', () => {
  it('shares one client subscription among all users of a key and releases it a microtask after the last', async () => {
    const { client, store } = setup();
    const stopA = store.subscribe(item1, () => {});
    const stopB = store.subscribe(item1, () => {});
    expect(client.log).toEqual(['+items/1']);
    stopA();
    stopA(); // idempotent: must not release B's hold
    await tick();
    expect(client.active()).toEqual(['items/1']);
    stopB();
    expect(client.active()).toEqual(['items/1']);
    await tick();
    expect(client.log).toEqual(['+items/1', '-items/1']);
    expect(store.get('items/1')).toBe(LOADING);
  });

  it('keeps the subscription when the last user leaves and one comes back in the same tick (StrictMode)', async () => {
    const { client, store } = setup();
    store.subscribe(item1, () => {})();
    const stop = store.subscribe(item1, () => {});
    await tick();
    expect(client.log).toEqual(['+items/1']);
    stop();
    await tick();
    expect(client.log).toEqual(['+items/1', '-items/1']);
  });

  it('turns values and errors into results, notifying every listener', () => {
    const { client, store } = setup();
    const changes = vi.fn();
    store.subscribe(item1, changes);
    expect(store.get('items/1')).toBe(LOADING);
    client.deliver('items/1', { title: 'a' });
    expect(store.get('items/1')).toEqual({ status: 'ready', data: { title: 'a' }, error: undefined, stale: false });
    client.deliver('items/1', null);
    expect(store.get('items/1')).toEqual({ status: 'missing', data: null, error: undefined, stale: false });
    client.deliver('items/1', { title: 'b' });
    const failed = new ClientError('FETCH_FAILED', 'db down', item1);
    client.fail('items/1', failed);
    expect(store.get('items/1')).toEqual({ status: 'error', data: { title: 'b' }, error: failed, stale: true });
    const forbidden = new ClientError('FORBIDDEN', 'no', item1);
    client.fail('items/1', forbidden);
    expect(store.get('items/1')).toEqual({ status: 'forbidden', data: undefined, error: forbidden, stale: false });
    expect(changes).toHaveBeenCalledTimes(5);
  });

  it('marks values reconnecting when the connection drops, until the fresh snapshot arrives', () => {
    const { client, store } = setup();
    store.subscribe(item1, () => {});
    store.subscribe({ entity: 'items', id: '2' }, () => {});
    store.subscribe({ entity: 'items', id: '3' }, () => {});
    client.deliver('items/1', { title: 'a' });
    client.deliver('items/2', null);
    client.setState('reconnecting');
    expect(store.get('items/1')).toEqual({ status: 'reconnecting', data: { title: 'a' }, error: undefined, stale: true });
    expect(store.get('items/2')).toEqual({ status: 'reconnecting', data: null, error: undefined, stale: true });
    expect(store.get('items/3')).toBe(LOADING);
    client.setState('reconnecting'); // another attempt: nothing changes
    client.setState('open');
    expect(store.get('items/1').status).toBe('reconnecting');
    client.deliver('items/1', { title: 'fresh' });
    expect(store.get('items/1')).toEqual({ status: 'ready', data: { title: 'fresh' }, error: undefined, stale: false });
  });

  it('marks everything stale when the client closes for good', () => {
    const { client, store } = setup();
    store.subscribe(item1, () => {});
    store.subscribe({ entity: 'items', id: '2' }, () => {});
    client.deliver('items/1', { title: 'a' });
    client.deliver('items/2', { title: 'b' });
    client.setState('reconnecting');
    client.deliver('items/2', { title: 'b2' }); // e.g. a value cached by the client: not current
    expect(store.get('items/2').status).toBe('reconnecting');
    client.setState('closed');
    expect(store.get('items/1')).toEqual({ status: 'ready', data: { title: 'a' }, error: undefined, stale: true });
    expect(store.get('items/2')).toEqual({ status: 'ready', data: { title: 'b2' }, error: undefined, stale: true });
  });

  it('holds a key a suspended render asked for, until a while after it settles', async () => {
    vi.useFakeTimers();
    const { client, store } = setup();
    const settled = vi.fn();
    void store.suspend(item1).then(settled);
    expect(client.active()).toEqual(['items/1']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(client.active()).toEqual(['items/1']); // still loading: still held
    client.deliver('items/1', { title: 'a' });
    await vi.advanceTimersByTimeAsync(0);
    expect(settled).toHaveBeenCalled();
    const stop = store.subscribe(item1, () => {}); // the component commits
    await vi.advanceTimersByTimeAsync(SUSPENSE_HOLD_MS);
    expect(client.active()).toEqual(['items/1']);
    stop();
    await vi.advanceTimersByTimeAsync(0);
    expect(client.log).toEqual(['+items/1', '-items/1']);
  });

  it('keeps one store per client', () => {
    const client = new FakeClient();
    expect(storeFor(client)).toBe(storeFor(client));
    expect(storeFor(new FakeClient())).not.toBe(storeFor(client));
  });
});

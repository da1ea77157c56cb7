// @vitest-environment happy-dom
import { ClientError, type EntityKey } from '@entity-sync/client';
import { act, cleanup, render, renderHook, screen } from '@testing-library/react';
import { createElement as h, type ReactNode, Suspense } from 'react';
import { afterEach, describe, expect, expectTypeOf, it } from 'vitest';
import { FakeClient } from './fake-client.test-helper.js';
import { createEntityHooks, EntitySyncProvider, type EntityResult, useConnectionState, useEntities, useEntity } from './index.js';

afterEach(cleanup);

const key = (id: string): EntityKey => ({ entity: 'items', id });
const flush = () => act(() => Promise.resolve());

/** Render options: the provider around the tree, and StrictMode at the root (React applies its double mount only there). */
function wrapper(client: FakeClient, reactStrictMode = true) {
  return { wrapper: ({ children }: { children: ReactNode }) => h(EntitySyncProvider, { client }, children), reactStrictMode };
}

/** Two hooks on one key in one component. */
function Both() {
  const a = useEntity(key('1'));
  const b = useEntity(key('1'));
  return h('p', null, `${a.status} ${b.status}`);
}

function SuspendedTitle() {
  const { data, status } = useEntity<{ title: string }>(key('1'), { suspense: true });
  return h('p', null, `${status}: ${data?.title}`);
}

describe('useEntity', () => {
  it('under StrictMode makes one client subscription for every hook of a key, and stops it after the last unmount', async () => {
    const client = new FakeClient();
    const view = render(h(Both), wrapper(client));
    await flush();
    expect(client.log).toEqual(['+items/1']);
    act(() => client.deliver('items/1', { title: 'a' }));
    expect(screen.getByText('ready ready')).toBeTruthy();
    view.unmount();
    await flush();
    expect(client.log).toEqual(['+items/1', '-items/1']);
  });

  it('reads a query key by its params: key order and a fresh literal per render are one subscription', async () => {
    const client = new FakeClient();
    const { result, rerender } = renderHook(
      ({ order }: { order: 'ab' | 'ba' }) =>
        useEntity<string[]>({ entity: 'todoList', params: order === 'ab' ? { owner: '7', done: false } : { done: false, owner: '7' } }),
      { ...wrapper(client), initialProps: { order: 'ab' as 'ab' | 'ba' } },
    );
    await flush();
    const id = '{"done":false,"owner":"7"}';
    expect(client.log).toEqual([`+todoList/${id}`]);
    expect(client.subscribed()).toEqual([{ entity: 'todoList', id, params: { owner: '7', done: false } }]);
    act(() => client.deliver(`todoList/${id}`, ['milk']));
    rerender({ order: 'ba' });
    await flush();
    expect(result.current).toMatchObject({ status: 'ready', data: ['milk'] });
    expect(client.log).toEqual([`+todoList/${id}`]);
    expect(() => renderHook(() => useEntity({ entity: 'todoList' } as never), wrapper(client))).toThrow(TypeError);
  });

  it('reports loading, ready, missing, forbidden, error and reconnecting', async () => {
    const client = new FakeClient();
    const { result } = renderHook(() => useEntity<{ title: string }>(key('1')), wrapper(client));
    expect(result.current).toEqual({ status: 'loading', data: undefined, error: undefined, stale: false });
    act(() => client.deliver('items/1', { title: 'a' }));
    expect(result.current).toEqual({ status: 'ready', data: { title: 'a' }, error: undefined, stale: false });
    act(() => client.setState('reconnecting'));
    expect(result.current).toEqual({ status: 'reconnecting', data: { title: 'a' }, error: undefined, stale: true });
    act(() => client.setState('open'));
    act(() => client.deliver('items/1', null));
    expect(result.current).toEqual({ status: 'missing', data: null, error: undefined, stale: false });
    const forbidden = new ClientError('FORBIDDEN', 'no', key('1'));
    act(() => client.fail('items/1', forbidden));
    expect(result.current).toMatchObject({ status: 'forbidden', data: undefined, error: forbidden });
    const failed = new ClientError('FETCH_FAILED', 'db down', key('1'));
    act(() => client.fail('items/1', failed));
    expect(result.current).toMatchObject({ status: 'error', error: failed });
  });

  it('moves the subscription on a key change and keeps the previous data until the new key has its value', async () => {
    const client = new FakeClient();
    const seen: string[] = [];
    const { result, rerender } = renderHook(
      ({ id }) => {
        const r = useEntity<{ title: string }>(key(id));
        seen.push(`${r.status}:${r.data?.title ?? String(r.data)}`);
        return r;
      },
      { ...wrapper(client), initialProps: { id: '1' } },
    );
    act(() => client.deliver('items/1', { title: 'one' }));
    seen.length = 0;
    rerender({ id: '2' });
    await flush();
    expect(result.current).toEqual({ status: 'loading', data: { title: 'one' }, error: undefined, stale: true });
    expect(client.active()).toEqual(['items/2']);
    act(() => client.deliver('items/2', { title: 'two' }));
    expect(result.current).toMatchObject({ status: 'ready', data: { title: 'two' }, stale: false });
    expect(seen.filter((s) => s.endsWith(':undefined'))).toEqual([]);
    expect(client.log).toEqual(['+items/1', '+items/2', '-items/1']);
  });

  it('shows undefined while the new key loads with keepPreviousData: false', async () => {
    const client = new FakeClient();
    const { result, rerender } = renderHook(({ id }) => useEntity(key(id), { keepPreviousData: false }), {
      ...wrapper(client),
      initialProps: { id: '1' },
    });
    act(() => client.deliver('items/1', { title: 'one' }));
    rerender({ id: '2' });
    expect(result.current).toEqual({ status: 'loading', data: undefined, error: undefined, stale: false });
  });

  it('suspends until the first value with suspense: true', async () => {
    const client = new FakeClient();
    render(h(Suspense, { fallback: h('p', null, 'waiting') }, h(SuspendedTitle)), wrapper(client, false));
    expect(screen.getByText('waiting')).toBeTruthy();
    expect(client.active()).toEqual(['items/1']);
    await act(async () => client.deliver('items/1', { title: 'one' }));
    expect(await screen.findByText('ready: one')).toBeTruthy();
    expect(client.log).toEqual(['+items/1']);
  });

  it('throws a clear error outside a provider', () => {
    expect(() => renderHook(() => useEntity(key('1')))).toThrow('useEntity must be used inside <EntitySyncProvider client={...}>');
  });
});

describe('useEntities', () => {
  it('returns one result per key in order, sharing subscriptions with useEntity', async () => {
    const client = new FakeClient();
    const { result, rerender } = renderHook(({ ids }) => ({ list: useEntities(ids.map(key)), one: useEntity(key('2')) }), {
      ...wrapper(client),
      initialProps: { ids: ['1', '2'] },
    });
    await flush();
    expect(client.log).toEqual(['+items/1', '+items/2']);
    act(() => client.deliver('items/2', { title: 'two' }));
    expect(result.current.list.map((r) => r.status)).toEqual(['loading', 'ready']);
    expect(result.current.one.data).toEqual({ title: 'two' });
    const before = result.current.list;
    rerender({ ids: ['1', '2'] });
    expect(result.current.list).toBe(before); // same keys, nothing changed: the same array
    rerender({ ids: ['3', '2'] });
    await flush();
    expect(client.active()).toEqual(['items/2', 'items/3']);
    expect(result.current.list.map((r) => r.status)).toEqual(['loading', 'ready']);
  });
});

describe('useConnectionState', () => {
  it('follows the client state', () => {
    const client = new FakeClient();
    const { result } = renderHook(() => useConnectionState(), wrapper(client));
    expect(result.current).toBe('open');
    act(() => client.setState('reconnecting'));
    expect(result.current).toBe('reconnecting');
  });
});

describe('createEntityHooks', () => {
  it('types data by the entity name', () => {
    type Entities = { items: { title: string }; users: { name: string } };
    const hooks = createEntityHooks<Entities>();
    expect(hooks.useEntity).toBe(useEntity);
    expectTypeOf(hooks.useEntity<'users'>).returns.toEqualTypeOf<EntityResult<{ name: string }>>();
    expectTypeOf(hooks.useEntity<'users'>)
      .parameter(0)
      .toEqualTypeOf<{ entity: 'users'; id: string }>();
    // @ts-expect-error: not an entity of the map
    expectTypeOf(hooks.useEntity).toBeCallableWith({ entity: 'itemz', id: '1' });
    const narrow = (r: EntityResult<{ title: string }>) => (r.status === 'ready' ? r.data.title : r.data);
    expectTypeOf(narrow).returns.toEqualTypeOf<string | { title: string } | null | undefined>();
  });
});

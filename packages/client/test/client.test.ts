import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { type Client, type ClientError, type ConnectionState, createClient, type DataMeta } from '../src/index.js';
import { type Item, Store, startServer, type TestServer } from './server.js';

type Entities = {
  items: Item & { seenAs: string };
  secrets: { id: string; text: string };
  broken: never;
  itemList: { params: { prefix: string }; value: string[] };
};

const leftovers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (leftovers.length) await leftovers.pop()!();
});

async function setup(options: { secret?: string } = {}) {
  const store = new Store();
  store.items.set('1', { id: '1', title: 'first' });
  store.items.set('2', { id: '2', title: 'second' });
  const server = await startServer(store);
  leftovers.push(() => server.stop());
  const client = newClient(server.url, options);
  return { store, server, client };
}

function newClient(url: string, options: { secret?: string } = {}): Client<Entities> {
  const client = createClient<Entities>({ url, WebSocket, retry: { minDelayMs: 20, maxDelayMs: 200 }, ...options });
  const errors: ClientError[] = [];
  client.on('error', (e) => errors.push(e));
  leftovers.push(async () => {
    await client.close();
    expect(errors, 'unexpected client errors').toEqual([]);
  });
  return client;
}

/** Records every value a listener gets, and every per-key error. */
function recorder<T>() {
  const values: (T | null)[] = [];
  const errors: ClientError[] = [];
  return {
    values,
    errors,
    last: () => values.at(-1),
    listener: (value: T | null) => void values.push(value),
    onError: (error: ClientError) => void errors.push(error),
  };
}

async function change(server: TestServer, store: Store, id: string, title: string) {
  store.items.set(id, { id, title });
  await server.sync.notifyAllOfChange({ entity: 'items', id });
}

describe('@entity-sync/client against a real server', () => {
  it('gets the snapshot, then every update, and nothing after stop', async () => {
    const { store, server, client } = await setup({ secret: 'alice' });
    const seen = recorder<Entities['items']>();
    const stop = client.subscribe({ entity: 'items', id: '1' }, seen.listener, seen.onError);
    await vi.waitFor(() => expect(seen.last()).toEqual({ id: '1', title: 'first', seenAs: 'alice' }));
    expect(client.state).toBe('open');
    await change(server, store, '1', 'edited');
    await vi.waitFor(() => expect(seen.last()).toMatchObject({ title: 'edited' }));
    stop();
    await vi.waitFor(() => expect(server.sync.stats().subscriptions).toBe(0));
    const count = seen.values.length;
    await change(server, store, '1', 'after stop');
    expect(server.sync.stats().keys).toBe(0);
    expect(seen.values).toHaveLength(count);
    expect(seen.errors).toEqual([]);
  });

  it('delivers null for an entity that does not exist, then its value once it does', async () => {
    const { store, server, client } = await setup();
    const seen = recorder<Entities['items']>();
    client.subscribe({ entity: 'items', id: 'nope' }, seen.listener);
    await vi.waitFor(() => expect(seen.values).toEqual([null]));
    await change(server, store, 'nope', 'now it exists');
    await vi.waitFor(() => expect(seen.last()).toMatchObject({ title: 'now it exists' }));
  });

  it('shares one server subscription between listeners of one key (ref counting)', async () => {
    const { store, server, client } = await setup();
    const a = recorder<Entities['items']>();
    const b = recorder<Entities['items']>();
    const stopA = client.subscribe({ entity: 'items', id: '1' }, a.listener);
    const stopB = client.subscribe({ entity: 'items', id: '1' }, b.listener);
    await vi.waitFor(() => expect(b.last()).toMatchObject({ title: 'first' }));
    expect(server.sync.stats().subscriptions).toBe(1);
    stopA();
    await change(server, store, '1', 'for b');
    await vi.waitFor(() => expect(b.last()).toMatchObject({ title: 'for b' }));
    expect(server.sync.stats().subscriptions).toBe(1);
    expect(a.values).toHaveLength(1);
    const c = recorder<Entities['items']>();
    client.subscribe({ entity: 'items', id: '1' }, c.listener);
    await vi.waitFor(() => expect(c.values).toEqual([expect.objectContaining({ title: 'for b' })]));
    stopB();
    expect(server.sync.stats().subscriptions).toBe(1);
  });

  it('re-fetches every key with the new secret after setSecret', async () => {
    const { client } = await setup({ secret: 'alice' });
    const one = recorder<Entities['items']>();
    const two = recorder<Entities['items']>();
    client.subscribe({ entity: 'items', id: '1' }, one.listener);
    client.subscribe({ entity: 'items', id: '2' }, two.listener);
    await vi.waitFor(() => expect(two.last()).toMatchObject({ seenAs: 'alice' }));
    client.setSecret('bob');
    await vi.waitFor(() => {
      expect(one.last()).toMatchObject({ seenAs: 'bob' });
      expect(two.last()).toMatchObject({ seenAs: 'bob' });
    });
  });

  it('keeps a FORBIDDEN key and gets its data once a new secret allows it, and FORBIDDEN again when it no longer does', async () => {
    const { client } = await setup({ secret: 'guest' });
    const seen = recorder<Entities['secrets']>();
    client.subscribe({ entity: 'secrets', id: 'plans' }, seen.listener, seen.onError);
    await vi.waitFor(() => expect(seen.errors.map((e) => e.code)).toEqual(['FORBIDDEN']));
    expect(seen.errors[0]!.key).toEqual({ entity: 'secrets', id: 'plans' });
    expect(seen.values).toEqual([]);
    client.setSecret('admin');
    await vi.waitFor(() => expect(seen.values).toEqual([{ id: 'plans', text: 'secret plans' }]));
    client.setSecret('guest');
    await vi.waitFor(() => expect(seen.errors.map((e) => e.code)).toEqual(['FORBIDDEN', 'FORBIDDEN']));
  });

  it('reports UNKNOWN_ENTITY, INVALID_KEY and FETCH_FAILED to the key, and other keys are unaffected', async () => {
    const { client } = await setup();
    const unknown = recorder<unknown>();
    const invalid = recorder<unknown>();
    const broken = recorder<never>();
    const good = recorder<Entities['items']>();
    const untyped = client as unknown as Client;
    untyped.subscribe({ entity: 'nothing', id: '1' }, unknown.listener, unknown.onError);
    untyped.subscribe({ entity: 'bad name!', id: '1' }, invalid.listener, invalid.onError);
    client.subscribe({ entity: 'broken', id: '1' }, broken.listener, broken.onError);
    client.subscribe({ entity: 'items', id: '1' }, good.listener, good.onError);
    await vi.waitFor(() => {
      expect(unknown.errors.map((e) => e.code)).toEqual(['UNKNOWN_ENTITY']);
      expect(invalid.errors.map((e) => e.code)).toEqual(['INVALID_KEY']);
      expect(broken.errors.map((e) => e.code)).toEqual(['FETCH_FAILED']);
      expect(good.values).toHaveLength(1);
    });
    expect(good.errors).toEqual([]);
    expect(broken.errors[0]!.message).not.toContain('database down');
  });

  it('routes a per-key error without an error callback to the error event', async () => {
    const { server } = await setup();
    const client = createClient({ url: server.url, WebSocket });
    leftovers.push(() => client.close());
    const errors: ClientError[] = [];
    client.on('error', (e) => errors.push(e));
    client.subscribe({ entity: 'nothing', id: '1' }, () => {});
    await vi.waitFor(() => expect(errors.map((e) => e.code)).toEqual(['UNKNOWN_ENTITY']));
  });

  it('yields values from watch() and unsubscribes when the loop ends', async () => {
    const { store, server, client } = await setup();
    const titles: string[] = [];
    const loop = (async () => {
      for await (const item of client.watch({ entity: 'items', id: '2' })) {
        titles.push(item?.title ?? 'gone');
        if (titles.length === 1) await change(server, store, '2', 'changed');
        if (titles.length === 2) break;
      }
    })();
    await loop;
    expect(titles).toEqual(['second', 'changed']);
    await vi.waitFor(() => expect(server.sync.stats().subscriptions).toBe(0));
  });

  it('survives a server restart: reconnects, resends secret and keys, and every listener converges', async () => {
    const store = new Store();
    store.items.set('1', { id: '1', title: 'v1' });
    let server = await startServer(store);
    const { port } = server;
    const client = newClient(server.url, { secret: 'alice' });
    const states: string[] = [];
    client.on('state', (s, detail) => states.push(detail.code === undefined ? s : `${s} ${detail.code}`));
    const one = recorder<Entities['items']>();
    const two = recorder<Entities['items']>();
    const meta: DataMeta[] = [];
    client.subscribe({ entity: 'items', id: '1' }, (v, m) => {
      one.listener(v);
      meta.push(m);
    });
    client.subscribe({ entity: 'items', id: '1' }, two.listener);
    const stopTwo = client.subscribe({ entity: 'items', id: '2' }, () => {});
    await vi.waitFor(() => expect(two.last()).toMatchObject({ title: 'v1' }));
    expect(server.sync.stats().subscriptions).toBe(2);

    await server.stop();
    await vi.waitFor(() => expect(client.state).toBe('reconnecting'));
    // While the server is down: the data changes, a key is added, one is dropped, the secret changes.
    store.items.set('1', { id: '1', title: 'v2' });
    store.items.set('3', { id: '3', title: 'new' });
    const three = recorder<Entities['items']>();
    client.subscribe({ entity: 'items', id: '3' }, three.listener);
    client.setSecret('bob');
    stopTwo();

    server = await startServer(store, port);
    leftovers.push(() => server.stop());
    await vi.waitFor(() => {
      expect(one.last()).toEqual({ id: '1', title: 'v2', seenAs: 'bob' });
      expect(two.last()).toEqual({ id: '1', title: 'v2', seenAs: 'bob' });
      expect(three.last()).toEqual({ id: '3', title: 'new', seenAs: 'bob' });
    });
    // 1001 from the closing server: an immediate retry, refused while the port is closed, then backoff.
    expect(states.slice(0, 2)).toEqual(['open', 'reconnecting 1001']);
    expect(states.at(-1)).toBe('open');
    expect(meta.at(-1)!.snapshot).toBe(true);
    expect(server.sync.stats()).toMatchObject({ connections: 1, subscriptions: 2 });
    await change(server, store, '1', 'v3');
    await vi.waitFor(() => expect(two.last()).toMatchObject({ title: 'v3' }));
  });

  it('stops reconnecting when the server refuses the connection with 401, and says why', async () => {
    const store = new Store();
    const server = await startServer(store, 0, { authenticate: () => false });
    leftovers.push(() => server.stop());
    const client = createClient({ url: server.url, WebSocket, retry: { minDelayMs: 10, maxDelayMs: 10 } });
    const errors: ClientError[] = [];
    client.on('error', (e) => errors.push(e));
    await vi.waitFor(() => expect(client.state).toBe('closed'));
    expect(errors.map((e) => e.code)).toEqual(['UNAUTHORIZED']);
    expect(errors[0]!.message).toContain('401');
  });

  it('closes cleanly: close() resolves, the server sees the connection go', async () => {
    const { server, client } = await setup();
    await vi.waitFor(() => expect(client.state).toBe('open'));
    await vi.waitFor(() => expect(server.sync.stats().connections).toBe(1));
    await client.close();
    expect(client.state).toBe('closed');
    await vi.waitFor(() => expect(server.sync.stats().connections).toBe(0));
  });
});

describe('query keys', () => {
  it('subscribes by params (any key order is one subscription), and a tag refreshes it', async () => {
    const { store, server, client } = await setup();
    const a = recorder<string[]>();
    const b = recorder<string[]>();
    client.subscribe({ entity: 'itemList', params: { prefix: 's' } }, a.listener, a.onError);
    client.subscribe({ entity: 'itemList', params: { prefix: 's' } }, b.listener, b.onError);
    await vi.waitFor(() => expect(a.values).toEqual([['2']]));
    await vi.waitFor(() => expect(b.values).toEqual([['2']]));
    expect(server.sync.stats().subscriptions).toBe(1);
    store.items.set('3', { id: '3', title: 'sixth' });
    await server.sync.notifyAllOfChange({ tag: 'items' });
    await vi.waitFor(() => expect(a.values.at(-1)).toEqual(['2', '3']));
    for await (const ids of client.watch({ entity: 'itemList', params: { prefix: 'f' } })) {
      expect(ids).toEqual(['1']);
      break;
    }
  });

  it('a bad params object gets INVALID_KEY with the schema message', async () => {
    const { client } = await setup();
    const bad = recorder<string[]>();
    const untyped = client as unknown as Client;
    untyped.subscribe({ entity: 'itemList', params: { prefix: 1 } } as never, bad.listener as never, bad.onError);
    await vi.waitFor(() =>
      expect(bad.errors.map((e) => [e.code, e.message])).toEqual([['INVALID_KEY', 'invalid params: prefix: prefix must be a string']]),
    );
  });
});

describe('types', () => {
  it('types values by entity name', () => {
    const client = createClient<Entities>({ url: 'ws://127.0.0.1:1/', WebSocket });
    leftovers.push(() => client.close());
    client.subscribe({ entity: 'items', id: '1' }, (item, meta) => {
      expectTypeOf(item).toEqualTypeOf<Entities['items'] | null>();
      expectTypeOf(meta.key.entity).toEqualTypeOf<'items'>();
    });
    expectTypeOf(client.watch({ entity: 'secrets', id: 'x' })).toEqualTypeOf<AsyncIterableIterator<Entities['secrets'] | null>>();
    expectTypeOf<ReturnType<typeof client.subscribe<'items'>>>().toEqualTypeOf<() => void>();
    expectTypeOf(client.close).returns.toEqualTypeOf<Promise<void>>();
    const compileOnly = () => {
      // @ts-expect-error: not an entity of the map
      client.subscribe({ entity: 'other', id: '1' }, () => {});
      // @ts-expect-error: ids are strings
      client.subscribe({ entity: 'items', id: 1 }, () => {});
      // @ts-expect-error: a query entity takes params, typed by the map
      client.subscribe({ entity: 'itemList', params: { prefix: 1 } }, () => {});
      // @ts-expect-error: a query entity takes no id
      client.subscribe({ entity: 'itemList', id: 's' }, () => {});
      client.subscribe({ entity: 'itemList', params: { prefix: 's' } }, (ids) => expectTypeOf(ids).toEqualTypeOf<string[] | null>());
    };
    expect(compileOnly).toBeTypeOf('function');
    client.on('state', (state) => expectTypeOf(state).toEqualTypeOf<ConnectionState>());
    client.on('error', (error) => expectTypeOf(error.code).toEqualTypeOf<ClientError['code']>());
    const untyped = createClient({ url: 'ws://127.0.0.1:1/', WebSocket });
    leftovers.push(() => untyped.close());
    untyped.subscribe({ entity: 'anything', id: '1' }, (value) => expectTypeOf(value).toEqualTypeOf<unknown>());
  });
});

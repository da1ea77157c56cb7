import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type { ChangeTargetOf, KeyOf, ParamsOf, ValueOf } from './entity-map.js';
import { allowOwner, createEntitySync, type EntitySync, type FetchContext, ownRows, type QueryKey } from './index.js';
import type { EntityKey } from './keys.js';

interface Item {
  id: string;
  title: string;
}
interface Todo {
  title: string;
  done: boolean;
}
interface Row extends Item {
  ownerSecret: string;
}
type Entities = {
  items: Item;
  todoList: { params: { owner: string }; value: Todo[] };
  rows: Item;
};

/** Compiles only: each `@ts-expect-error` line must be an error, and every other line must not. */
function serverCalls(sync: EntitySync<Entities>): void {
  sync.registerEntity('items', {
    fetch: (key, ctx) => {
      expectTypeOf(key).toEqualTypeOf<EntityKey<'items'>>();
      expectTypeOf(ctx).toEqualTypeOf<FetchContext<Item>>();
      return key.id === '' ? undefined : { id: key.id, title: 't' };
    },
    authorize: (key) => key.id !== '',
  });
  sync.registerEntity('todoList', {
    params: z.object({ owner: z.string() }),
    fetch: async (key) => {
      expectTypeOf(key).toEqualTypeOf<QueryKey<{ owner: string }, 'todoList'>>();
      return [{ title: key.params.owner, done: false }];
    },
  });
  // A view: `fetch` produces rows (typed by the view's parameter), the view returns the value.
  sync.registerEntity('rows', {
    fetch: (key): Row => ({ id: key.id, title: 't', ownerSecret: 's' }),
    view: (row: Row | null, ctx) => (row === null || row.ownerSecret !== ctx.secret ? null : { id: row.id, title: row.title }),
  });
  // The ready-made rules fit typed entities.
  sync.registerEntity('todoList', {
    params: z.object({ owner: z.string() }),
    authorize: allowOwner('owner'),
    view: ownRows('title'),
    fetch: () => [],
  });
  // Pre-serialized JSON, null, a promise of null, and ctx.send of the value type all pass.
  sync.registerEntity('items', { fetch: () => '{"id":"1","title":"t"}' });
  sync.registerEntity('items', { fetch: async () => null });
  sync.registerEntity('items', { fetch: (_key, ctx) => ctx.send({ id: '1', title: 't' }) });
  sync.registerEntity('items', {
    fetch: async (_key, ctx) => {
      ctx.send({ id: '1', title: 't' });
    },
  });

  // @ts-expect-error: not an entity of the map
  sync.registerEntity('itemz', { fetch: () => null });
  // @ts-expect-error: the value has the wrong shape
  sync.registerEntity('items', { fetch: () => ({ id: 1, title: 't' }) });
  // @ts-expect-error: a promise of the wrong shape
  sync.registerEntity('items', { fetch: async () => ({ name: 'x' }) });
  // @ts-expect-error: ctx.send takes the entity's value
  sync.registerEntity('items', { fetch: (_key, ctx) => ctx.send({ id: '1' }) });
  // @ts-expect-error: a query entity needs its params schema
  sync.registerEntity('todoList', { fetch: () => [] });
  // @ts-expect-error: the schema's output must be the map's params
  sync.registerEntity('todoList', { params: z.object({ owner: z.number() }), fetch: () => [] });
  // @ts-expect-error: an entity keyed by id takes no params schema
  sync.registerEntity('items', { params: z.object({ owner: z.string() }), fetch: () => null });
  // @ts-expect-error: the view must return the value
  sync.registerEntity('rows', { fetch: () => null, view: () => ({ id: 1 }) });

  void sync.notifyAllOfChange({ entity: 'items', id: '1' });
  void sync.notifyAllOfChange([{ entity: 'todoList', params: { owner: '7' } }, { entity: 'todoList', id: '{"owner":"7"}' }, { tag: 't' }]);
  // @ts-expect-error: not an entity of the map
  void sync.notifyAllOfChange({ entity: 'itemz', id: '1' });
  // @ts-expect-error: the params of a query entity are typed
  void sync.notifyAllOfChange({ entity: 'todoList', params: { owner: 7 } });

  void sync.subscribe({ entity: 'todoList', params: { owner: '7' } }, (todos, key) => {
    expectTypeOf(todos).toEqualTypeOf<Todo[] | null>();
    expectTypeOf(key).toEqualTypeOf<EntityKey<'todoList'>>();
  });
  void sync.subscribe({ tag: 't' }, (tag) => expectTypeOf(tag).toEqualTypeOf<{ tag: string }>());
  // @ts-expect-error: a query entity takes params, not an id
  void sync.subscribe({ entity: 'todoList', id: '1' }, () => {});
}

/** The untyped node: any name, any value, params inferred from the schema, as before maps existed. */
function untypedCalls(sync: EntitySync): void {
  sync.registerEntity('anything', { fetch: () => 42 });
  sync.registerEntity('query', {
    params: z.object({ n: z.number() }),
    fetch: (key) => expectTypeOf(key.params).toEqualTypeOf<{ n: number }>(),
  });
  void sync.notifyAllOfChange({ entity: 'whatever', id: '1' });
  void sync.subscribe({ entity: 'whatever', id: '1' }, (value) => expectTypeOf(value).toEqualTypeOf<unknown>());
}

describe('entity map (types)', () => {
  it('types the server from one map, and leaves an untyped node as it was', () => {
    expect(serverCalls).toBeTypeOf('function');
    expect(untypedCalls).toBeTypeOf('function');
    expectTypeOf<ValueOf<Entities['todoList']>>().toEqualTypeOf<Todo[]>();
    expectTypeOf<ParamsOf<Entities['todoList']>>().toEqualTypeOf<{ owner: string }>();
    expectTypeOf<ParamsOf<Entities['items']>>().toBeNever();
    expectTypeOf<KeyOf<Entities, 'items'>>().toEqualTypeOf<{ entity: 'items'; id: string }>();
    expectTypeOf<ChangeTargetOf<Entities>>().toExtend<{ tag: string } | { entity: string }>();
  });

  it('a typed node is the same object and passes where an untyped one is expected', async () => {
    const sync = createEntitySync<Entities>();
    const untyped: EntitySync = sync;
    expect(untyped).toBe(sync);
    await sync.close();
  });
});

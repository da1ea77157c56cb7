import type { EntityMap as ProtocolEntityMap, KeyOf as ProtocolKeyOf } from '@entity-sync/protocol';
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { Client, EntityKey, EntityMap, IdEntityNameOf, KeyOf, ParamsOf, QueryEntityNameOf, ValueOf } from './index.js';

interface Todo {
  title: string;
  done: boolean;
}
type Entities = { items: { title: string }; todoList: { params: { owner: string }; value: Todo[] }; gone: never };

/** Compiles only: each `@ts-expect-error` line must be an error, and every other line must not. */
function calls(client: Client<Entities>, untyped: Client): void {
  client.subscribe({ entity: 'todoList', params: { owner: '7' } }, (todos, meta) => {
    expectTypeOf(todos).toEqualTypeOf<Todo[] | null>();
    expectTypeOf(meta.key).toEqualTypeOf<EntityKey<'todoList'>>();
  });
  // @ts-expect-error: the params are typed by the map
  client.subscribe({ entity: 'todoList', params: { owner: 7 } }, () => {});
  // @ts-expect-error: not an entity of the map
  client.watch({ entity: 'todo', params: { owner: '7' } });
  // Without a map, a key is `{ entity, id }` or `{ entity, params }`, and values are `unknown`.
  untyped.subscribe({ entity: 'anything', id: '1' }, (value) => expectTypeOf(value).toEqualTypeOf<unknown>());
  untyped.subscribe({ entity: 'aQuery', params: { page: 2 } }, (value) => expectTypeOf(value).toEqualTypeOf<unknown>());
}

describe('the entity map (types)', () => {
  it('is the map of @entity-sync/protocol, the one the server takes too', () => {
    expect(calls).toBeTypeOf('function');
    expectTypeOf<EntityMap>().toEqualTypeOf<ProtocolEntityMap>();
    expectTypeOf<KeyOf<Entities, 'items'>>().toEqualTypeOf<ProtocolKeyOf<Entities, 'items'>>();
    expectTypeOf<KeyOf<Entities, 'todoList'>>().toEqualTypeOf<{ entity: 'todoList'; params: { owner: string } }>();
    expectTypeOf<ValueOf<Entities['todoList']>>().toEqualTypeOf<Todo[]>();
    expectTypeOf<ParamsOf<Entities['items']>>().toBeNever();
    expectTypeOf<IdEntityNameOf<Entities>>().toEqualTypeOf<'items' | 'gone'>();
    expectTypeOf<QueryEntityNameOf<Entities>>().toEqualTypeOf<'todoList'>();
  });
});

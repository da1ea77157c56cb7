import type { Client } from '@entity-sync/client';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { createEntityHooks, type EntityResult, useEntities, useEntity, useEntitySyncClient } from './index.js';

interface Todo {
  title: string;
  done: boolean;
}
type Entities = { items: { title: string }; todoList: { params: { owner: string }; value: Todo[] } };

describe('createEntityHooks (types)', () => {
  it('types keys and data from the map the server and the client share; the hooks are the plain ones', () => {
    const hooks = createEntityHooks<Entities>();
    expect(hooks).toEqual({ useEntity, useEntities, useEntitySyncClient });
    expectTypeOf(hooks.useEntity<'items'>).returns.toEqualTypeOf<EntityResult<{ title: string }>>();
    expectTypeOf(hooks.useEntities<'items'>).returns.toEqualTypeOf<EntityResult<{ title: string }>[]>();
    expectTypeOf(hooks.useEntitySyncClient).returns.toEqualTypeOf<Client<Entities>>();
    // `{ entity, id }` for an entity keyed by id, `{ entity, params }` with the map's params for a query.
    expectTypeOf(hooks.useEntity<'items'>)
      .parameter(0)
      .toEqualTypeOf<{ entity: 'items'; id: string }>();
    expectTypeOf(hooks.useEntity<'todoList'>)
      .parameter(0)
      .toEqualTypeOf<{ entity: 'todoList'; params: { owner: string } }>();
    expectTypeOf(hooks.useEntity<'todoList'>).returns.toEqualTypeOf<EntityResult<Todo[]>>();
    // @ts-expect-error: a query entity is read by its params, not an id
    expectTypeOf(hooks.useEntity).toBeCallableWith({ entity: 'todoList', id: '{"owner":"7"}' });
    // @ts-expect-error: params of the wrong shape
    expectTypeOf(hooks.useEntity).toBeCallableWith({ entity: 'todoList', params: { owner: 7 } });
    // @ts-expect-error: not an entity of the map
    expectTypeOf(hooks.useEntities).toBeCallableWith([{ entity: 'itemz', id: '1' }]);
    // Without a map: any name, `unknown` data.
    const untyped = createEntityHooks();
    expectTypeOf(untyped.useEntity<'anything'>).returns.toEqualTypeOf<EntityResult<unknown>>();
  });
});

// Compiles cleanly: the server typed by the shared map.
import { createEntitySync } from '@entity-sync/core';
import { type Entities, type Item, todoListParams } from './entities.js';

const items = new Map<string, Item>();

export const sync = createEntitySync<Entities>();
sync.registerEntity('items', { fetch: (key) => items.get(key.id) });
sync.registerEntity('todoList', {
  params: todoListParams,
  fetch: async (key) => [{ title: `first of ${key.params.owner}`, done: false }],
});
void sync.notifyAllOfChange([
  { entity: 'items', id: '1' },
  { entity: 'todoList', params: { owner: '7' } },
]);

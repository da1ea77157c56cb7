// Compiles cleanly: the client and the hooks typed by the same map.
import { createClient } from '@entity-sync/client';
import { createEntityHooks } from '@entity-sync/react';
import type { Entities, Item, Todo } from './entities.js';

const client = createClient<Entities>({ url: 'ws://127.0.0.1:1/' });
client.subscribe({ entity: 'items', id: '1' }, (item: Item | null) => item?.title);
client.subscribe({ entity: 'todoList', params: { owner: '7' } }, (todos: Todo[] | null) => todos?.length);

const { useEntity } = createEntityHooks<Entities>();
export function Title(): string | undefined {
  const result = useEntity({ entity: 'items', id: '1' });
  const todos = useEntity({ entity: 'todoList', params: { owner: '7' } });
  return result.status === 'ready' ? result.data.title : todos.data?.[0]?.title;
}

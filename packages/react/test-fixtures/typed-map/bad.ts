// Must NOT compile: each line after a `// fails:` comment is a type error, and no other line is.
import { createClient } from '@entity-sync/client';
import { createEntitySync } from '@entity-sync/core';
import { createEntityHooks } from '@entity-sync/react';
import type { Entities } from './entities.js';

const sync = createEntitySync<Entities>();
// fails: a typo in the entity name
sync.registerEntity('itemz', { fetch: () => null });
// fails: the fetch returns the wrong shape (id is a string)
sync.registerEntity('items', { fetch: (key) => ({ id: Number(key.id), title: 't' }) });
// fails: a typo in a notified entity name
void sync.notifyAllOfChange({ entity: 'todolist', params: { owner: '7' } });

const client = createClient<Entities>({ url: 'ws://127.0.0.1:1/' });
// fails: a typo in the entity name
client.subscribe({ entity: 'itemz', id: '1' }, () => {});
// fails: the listener expects the wrong value shape
client.subscribe({ entity: 'items', id: '1' }, (item: { name: string } | null) => item?.name);

const { useEntity } = createEntityHooks<Entities>();
export function Title(): string {
  // fails: a typo in the entity name
  const typo = useEntity({ entity: 'itemz', id: '1' });
  const item = useEntity({ entity: 'items', id: '1' });
  // fails: the value has no `name`
  return item.status === 'ready' ? item.data.name : String(typo.status);
}

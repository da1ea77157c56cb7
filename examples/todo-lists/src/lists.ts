import type { ChangeTarget, EntitySync } from '@entity-sync/core';
import { z } from 'zod';
import type { RowChange, TodoTable } from './todos.js';

/** The tag every list of one owner depends on. */
export const ownerTag = (owner: string): { tag: string } => ({ tag: `todos/owner/${owner}` });

/**
 * Registers the two entities: `todo` (one row, by id) and `todoList` (a query: the rows of one
 * owner, `{ entity: 'todoList', params: { owner: '7' } }`). The list's fetch declares that it
 * depends on its owner's tag, so a write only has to name the owners it touched.
 */
export function registerTodoEntities(sync: EntitySync, todos: TodoTable): void {
  sync.registerEntity('todo', {
    scope: 'shared',
    fetch: (key) => todos.get(key.id) ?? null,
  });
  sync.registerEntity('todoList', {
    scope: 'shared',
    params: z.object({ owner: z.string().min(1).max(64) }),
    fetch: (key, ctx) => {
      ctx.dependsOn(ownerTag(key.params.owner));
      return todos.listByOwner(key.params.owner);
    },
  });
}

/**
 * What one write must notify: the row's own key, and the tag of its owner before and after. A
 * move from owner 7 to owner 8 names both tags, so list 7 loses the row and list 8 gains it.
 */
export function changeTargets(change: RowChange): ChangeTarget[] {
  const row = change.after ?? change.before;
  if (row === undefined) return [];
  const owners = new Set([change.before?.owner, change.after?.owner].filter((owner) => owner !== undefined));
  return [{ entity: 'todo', id: row.id }, ...[...owners].map(ownerTag)];
}

import type { EntityKey } from './keys.js';
import type { AuthorizeContext, ViewContext } from './types.js';

/**
 * Ready-made rules for the two common cases (esink's "public" and per-user routing), usable as
 * an entity's `authorize` and `view`.
 */

/** `authorize`: everyone may subscribe (the same as no `authorize`, but says so). */
export function allowEveryone(): () => true {
  return () => true;
}

/**
 * `authorize`: only the identified user the key belongs to may subscribe: the key's params
 * field `field` (a query key like `{ entity: 'todoList', params: { owner } }`), or else its id,
 * must equal `ctx.user.id`. Anonymous connections are refused.
 */
export function allowOwner(field: string): (key: EntityKey, ctx: AuthorizeContext) => boolean {
  return (key, ctx) => {
    if (ctx.user === null) return false;
    const owner = key.params === undefined ? key.id : key.params[field];
    return owner !== undefined && owner !== null && String(owner) === ctx.user.id;
  };
}

/**
 * `view`: keeps what the identified user owns through `field`: of a list, the rows whose
 * `field` equals `ctx.user.id`; a single row if it does, else `null`. Anonymous: nothing.
 */
export function ownRows(field: string): <T>(value: T, ctx: ViewContext) => T | null {
  const owns = (row: unknown, userId: string | undefined): boolean =>
    userId !== undefined && typeof row === 'object' && row !== null && String((row as Record<string, unknown>)[field]) === userId;
  return <T>(value: T, ctx: ViewContext): T | null => {
    const userId = ctx.user?.id;
    if (Array.isArray(value)) return value.filter((row) => owns(row, userId)) as T;
    return owns(value, userId) ? value : null;
  };
}

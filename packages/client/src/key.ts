import { canonicalParams, type EntityKey } from '@entity-sync/protocol';

/** A key as given (`{ entity, id }` or `{ entity, params }`), with the id a query key goes by. */
export function toKey(key: { entity: string; id?: string; params?: Record<string, unknown> }): EntityKey {
  if (typeof key?.entity !== 'string') throw new TypeError('subscribe: key must be { entity, id } or { entity, params }');
  if (key.params !== undefined) {
    // The server checks the params (size, depth, its schema) and answers INVALID_KEY.
    if (typeof key.params !== 'object' || key.params === null || Array.isArray(key.params))
      throw new TypeError('subscribe: params must be an object');
    return { entity: key.entity, id: canonicalParams(key.params), params: key.params };
  }
  if (typeof key.id !== 'string') throw new TypeError('subscribe: key must be { entity, id } or { entity, params }');
  return { entity: key.entity, id: key.id };
}

/** A key as it goes on the wire: a query key by its params. */
export function wireKey(key: EntityKey): { entity: string; id: string } | { entity: string; params: Record<string, unknown> } {
  return key.params === undefined ? { entity: key.entity, id: key.id } : { entity: key.entity, params: key.params };
}

import { canonicalParams, type EntityKey, valueFingerprint } from '@entity-sync/protocol';

/** A key as given (`{ entity, id }` or `{ entity, params }`), with the id a query key goes by. */
export function toKey(key: { entity: string; id?: string; params?: Record<string, unknown> }): EntityKey {
  const { entity, id, params } = key ?? {};
  if (typeof entity === 'string' && params !== undefined) {
    // The server checks the params (size, depth, its schema) and answers INVALID_KEY.
    if (typeof params !== 'object' || params === null || Array.isArray(params)) throw new TypeError('subscribe: params must be an object');
    return { entity, id: canonicalParams(params), params };
  }
  if (typeof entity !== 'string' || typeof id !== 'string')
    throw new TypeError('subscribe: key must be { entity, id } or { entity, params }');
  return { entity, id };
}

/** A key as a resuming subscribe sends it: with the fingerprint of the value the client holds. */
export function resumeKey(key: EntityKey, held: unknown): object {
  return { ...wireKey(key), fp: valueFingerprint(held) };
}

/** A key as it goes on the wire: a query key by its params. */
export function wireKey(key: EntityKey): { entity: string; id: string } | { entity: string; params: Record<string, unknown> } {
  return key.params === undefined ? { entity: key.entity, id: key.id } : { entity: key.entity, params: key.params };
}

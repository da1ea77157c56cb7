import { type Params, paramsProblem } from './params.js';

/** An entity type name, matching {@link ENTITY_NAME_PATTERN}. */
export type EntityName = string;
/** Any string of at most {@link MAX_ID_BYTES} UTF-8 bytes. */
export type EntityId = string;

/**
 * Identifies one entity: its type and its id (the Go library's `EntityKey`). A query key also
 * carries its `params`; its `id` is then their canonical JSON (see `canonicalParams`).
 */
export interface EntityKey<Name extends string = EntityName> {
  /** Entity type name, `^[A-Za-z0-9_-]{1,64}$`. */
  entity: Name;
  /** Any string of at most 256 UTF-8 bytes; for a query key, the canonical JSON of its params. */
  id: EntityId;
  /** A query key's params (v1 only). */
  params?: Params;
}

/** A key as one unambiguous string, used for maps. Never put it on the wire. */
export type KeyString = string;

export const ENTITY_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const MAX_ID_BYTES = 256;

const encoder = new TextEncoder();

/** Returns why `key` is not a valid key, or `undefined` when it is. */
export function keyProblem(key: EntityKey): string | undefined {
  if (!ENTITY_NAME_PATTERN.test(key.entity)) {
    return 'entity must match ^[A-Za-z0-9_-]{1,64}$';
  }
  if (key.params !== undefined) return paramsProblem(key.params);
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short ids need no encoding to be measured.
  if (key.id.length * 3 > MAX_ID_BYTES && (key.id.length > MAX_ID_BYTES || encoder.encode(key.id).length > MAX_ID_BYTES)) {
    return `id must be at most ${MAX_ID_BYTES} bytes`;
  }
  return undefined;
}

/**
 * `entity/id`. Unambiguous because an entity name cannot contain `/`: the first `/` always
 * ends the entity name (the Go library's `entity.id` let `a`/`b.c` collide with `a.b`/`c`).
 */
export function keyString(key: EntityKey): KeyString {
  return `${key.entity}/${key.id}`;
}

export function parseKeyString(value: KeyString): EntityKey {
  const slash = value.indexOf('/');
  return { entity: value.slice(0, slash), id: value.slice(slash + 1) };
}

import type { EntityKey } from './types.js';

/** A key as one unambiguous map key (an entity name cannot contain `/`). Never sent. */
export function keyString(key: EntityKey): string {
  return `${key.entity}/${key.id}`;
}

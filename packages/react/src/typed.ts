import type { Client, EntityKey, EntityMap, EntityName } from '@entity-sync/client';
import { useEntitySyncClient } from './provider.js';
import type { EntityResult, UseEntityOptions } from './types.js';
import { useEntities, useEntity } from './use-entity.js';

/** The hooks typed by an entity map: the value type follows the key's entity name. */
export interface EntityHooks<E extends EntityMap> {
  useEntity<N extends EntityName<E>>(key: EntityKey<N>, options?: UseEntityOptions): EntityResult<E[N]>;
  useEntities<N extends EntityName<E>>(keys: readonly EntityKey<N>[], options?: Pick<UseEntityOptions, 'suspense'>): EntityResult<E[N]>[];
  useEntitySyncClient(): Client<E>;
}

/**
 * Returns the same hooks, typed by `E` (the map you give `createClient<E>`): an entity name
 * outside the map does not compile, and `data` has that entity's type. No runtime cost.
 *
 * ```ts
 * export const { useEntity, useEntities } = createEntityHooks<Entities>();
 * ```
 */
export function createEntityHooks<E extends EntityMap>(): EntityHooks<E> {
  return { useEntity, useEntities, useEntitySyncClient } as EntityHooks<E>;
}

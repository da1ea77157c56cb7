import type { Client, EntityKey, EntityMap, IdEntityNameOf, ValueOf } from '@entity-sync/client';
import { useEntitySyncClient } from './provider.js';
import type { EntityResult, UseEntityOptions } from './types.js';
import { useEntities, useEntity } from './use-entity.js';

/**
 * The hooks typed by an entity map: the key's entity name must be one of the map's entities keyed
 * by id (the hooks take `{ entity, id }` keys; query entities go through the client), and `data`
 * has that entity's value type.
 */
export interface EntityHooks<E extends EntityMap> {
  useEntity<N extends IdEntityNameOf<E>>(key: EntityKey<N>, options?: UseEntityOptions): EntityResult<ValueOf<E[N]>>;
  useEntities<N extends IdEntityNameOf<E>>(
    keys: readonly EntityKey<N>[],
    options?: Pick<UseEntityOptions, 'suspense'>,
  ): EntityResult<ValueOf<E[N]>>[];
  useEntitySyncClient(): Client<E>;
}

/**
 * Returns the same hooks, typed by `E`, the entity map the server (`createEntitySync<E>()`) and
 * the client (`createClient<E>()`) share: an entity name outside the map does not compile, and
 * `data` has that entity's type. No runtime cost.
 *
 * ```ts
 * export const { useEntity, useEntities } = createEntityHooks<Entities>();
 * ```
 */
export function createEntityHooks<E extends EntityMap>(): EntityHooks<E> {
  return { useEntity, useEntities, useEntitySyncClient } as EntityHooks<E>;
}

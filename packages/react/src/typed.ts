import type { Client, EntityMap, KeyOf, ValueOf } from '@entity-sync/client';
import { useEntitySyncClient } from './provider.js';
import type { EntityResult, UseEntityOptions } from './types.js';
import { useEntities, useEntity } from './use-entity.js';

/**
 * The hooks typed by an entity map: the key's entity name must be one of the map's entities, its
 * key `{ entity, id }` or, for a query entity, `{ entity, params }` with the map's params, and
 * `data` has that entity's value type.
 */
export interface EntityHooks<E extends EntityMap> {
  useEntity<N extends keyof E & string>(key: KeyOf<E, N>, options?: UseEntityOptions): EntityResult<ValueOf<E[N]>>;
  useEntities<N extends keyof E & string>(
    keys: readonly KeyOf<E, N>[],
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

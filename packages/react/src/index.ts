export {
  EntitySyncProvider,
  type EntitySyncProviderProps,
  useConnectionState,
  useEntitySyncClient,
} from './provider.js';
export type { StoreClient } from './store.js';
export { createEntityHooks, type EntityHooks } from './typed.js';
export type { EntityResult, EntityStatus, UseEntityOptions } from './types.js';
export { useEntities, useEntity } from './use-entity.js';

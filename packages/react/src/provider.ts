import type { Client, ConnectionState, EntityMap } from '@entity-sync/client';
import { createContext, createElement, type ReactNode, useCallback, useContext, useSyncExternalStore } from 'react';
import { type EntityStore, type StoreClient, storeFor } from './store.js';

const StoreContext = createContext<EntityStore | null>(null);
StoreContext.displayName = 'EntitySync';

/** Props of {@link EntitySyncProvider}. */
export interface EntitySyncProviderProps {
  /** The client the hooks below read through: `createClient(...)` or `createSharedClient(...)`. */
  client: StoreClient;
  children?: ReactNode;
}

/**
 * Makes `client` available to `useEntity`, `useEntities`, `useEntitySyncClient` and
 * `useConnectionState` below it. Create the client once, outside render (module scope or a
 * `useState` initializer), and close it yourself when the app is done with it.
 */
export function EntitySyncProvider({ client, children }: EntitySyncProviderProps): ReactNode {
  return createElement(StoreContext.Provider, { value: storeFor(client) }, children);
}

/** The store of the nearest provider's client; throws a clear error outside a provider. */
export function useEntityStore(hook: string): EntityStore {
  const store = useContext(StoreContext);
  if (!store) throw new Error(`${hook} must be used inside <EntitySyncProvider client={...}>`);
  return store;
}

/** The nearest provider's client, e.g. to call `setSecret` after a login. */
export function useEntitySyncClient<E extends EntityMap = EntityMap>(): Client<E> {
  return useEntityStore('useEntitySyncClient').client as unknown as Client<E>;
}

/** The client's connection state (`connecting`, `open`, `reconnecting`, `closed`), re-rendering on change. */
export function useConnectionState(): ConnectionState {
  const { client } = useEntityStore('useConnectionState');
  const subscribe = useCallback((onChange: () => void) => client.on('state', onChange), [client]);
  const getState = useCallback(() => client.state, [client]);
  return useSyncExternalStore(subscribe, getState, getState);
}

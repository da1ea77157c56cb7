import { useCallback, useEffect, useMemo, useRef, useSyncExternalStore } from 'react';
import { useEntityStore } from './provider.js';
import { type HookKey, keyString, LOADING, normalizeKey } from './store.js';
import type { EntityResult, UseEntityOptions } from './types.js';

type Result = EntityResult<unknown>;

const serverSnapshot = (): Result => LOADING;

/**
 * The current value of `key` (`{ entity, id }`, or `{ entity, params }` for a query entity) and its
 * status, re-rendering on every change. Every hook reading one key shares one client subscription,
 * which starts when the first of them commits and ends a microtask after the last unmounts; params
 * that are equal as JSON up to key order are one key, so an inline object literal is fine. `T` is
 * the value type (see `createEntityHooks` to derive it from an entity map).
 */
export function useEntity<T = unknown>(key: HookKey, options: UseEntityOptions = {}): EntityResult<T> {
  const store = useEntityStore('useEntity');
  const current = normalizeKey(key);
  const k = keyString(current);
  // One key object per key string, so a new params literal on every render changes nothing.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key is identified by k
  const normalized = useMemo(() => current, [k]);
  const subscribe = useCallback((onChange: () => void) => store.subscribe(normalized, onChange), [store, normalized]);
  const getSnapshot = useCallback(() => store.get(k), [store, k]);
  const result = useSyncExternalStore(subscribe, getSnapshot, serverSnapshot);

  // The last committed value and its key, shown while a new key loads (no flash of empty data).
  const previous = useRef<{ k: string; data: unknown } | undefined>(undefined);
  useEffect(() => {
    if (result.status !== 'loading' && result.data !== undefined) previous.current = { k, data: result.data };
  }, [k, result]);
  const prev = options.keepPreviousData === false ? undefined : previous.current;
  const shown = useMemo(
    (): Result =>
      result.status === 'loading' && prev !== undefined && prev.k !== k
        ? { status: 'loading', data: prev.data, error: undefined, stale: true }
        : result,
    [result, prev, k],
  );

  if (options.suspense && result.status === 'loading') throw store.suspend(normalized);
  return shown as EntityResult<T>;
}

/**
 * `useEntity` for a list of keys: one result per key, in order, re-rendering when any of them
 * changes. Keys new to the list start as `loading` (no previous data is carried over).
 * Only `suspense` of the options applies.
 */
export function useEntities<T = unknown>(keys: readonly HookKey[], options: Pick<UseEntityOptions, 'suspense'> = {}): EntityResult<T>[] {
  const store = useEntityStore('useEntities');
  const normalized = keys.map(normalizeKey);
  const listId = JSON.stringify(normalized.map(keyString));
  // biome-ignore lint/correctness/useExhaustiveDependencies: the keys are identified by listId
  const { list, subscribe, getSnapshot, getServerSnapshot } = useMemo(() => {
    const list = normalized;
    const ks = list.map(keyString);
    const server = list.map(() => LOADING);
    let last: Result[] = [];
    return {
      list,
      subscribe(onChange: () => void) {
        const stops = list.map((key) => store.subscribe(key, onChange));
        return () => {
          for (const stop of stops) stop();
        };
      },
      // A new array only when some key's result changed, as useSyncExternalStore requires.
      getSnapshot(): Result[] {
        const next = ks.map((k) => store.get(k));
        if (next.length !== last.length || next.some((result, i) => result !== last[i])) last = next;
        return last;
      },
      getServerSnapshot: (): Result[] => server,
    };
  }, [store, listId]);
  const results = useSyncExternalStore(subscribe, getSnapshot, getServerSnapshot);
  if (options.suspense && results.some((r) => r.status === 'loading')) {
    throw Promise.all(list.filter((_, i) => results[i]!.status === 'loading').map((key) => store.suspend(key)));
  }
  return results as EntityResult<T>[];
}

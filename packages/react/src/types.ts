import type { ClientError } from '@entity-sync/client';

/**
 * Where a key's value stands, as `useEntity` reports it:
 * - `loading`: no value yet (`data` is `undefined`, or the previous key's value, see `stale`).
 * - `ready`: `data` is the current value.
 * - `missing`: the entity does not exist or is not visible to this client (`data` is `null`).
 * - `forbidden`: the server refused this key for the current secret (`data` is `undefined`);
 *   data comes if a later `setSecret` allows it.
 * - `error`: another per-key error (`FETCH_FAILED`, `UNKNOWN_ENTITY`, ...); `data` keeps the last
 *   value, if there was one.
 * - `reconnecting`: the connection dropped; `data` is the last value, kept and marked `stale`,
 *   until the fresh snapshot after the reconnect arrives.
 */
export type EntityStatus = 'loading' | 'ready' | 'missing' | 'forbidden' | 'error' | 'reconnecting';

interface Base<S extends EntityStatus, D> {
  readonly status: S;
  readonly data: D;
  /**
   * `true` when `data` is not known to be the key's current value: the last value before a
   * disconnect (`reconnecting`), before an error (`error`), the previous key's value while the
   * new key loads (`loading`), or anything after the client was closed for good.
   */
  readonly stale: boolean;
}

/** What `useEntity` returns: a union on `status`, so `status === 'ready'` narrows `data` to `T`. */
export type EntityResult<T> =
  | (Base<'loading', T | null | undefined> & { readonly error: undefined })
  | (Base<'ready', T> & { readonly error: undefined })
  | (Base<'missing', null> & { readonly error: undefined })
  | (Base<'forbidden', undefined> & { readonly error: ClientError })
  | (Base<'error', T | null | undefined> & { readonly error: ClientError })
  | (Base<'reconnecting', T | null> & { readonly error: undefined });

/** Options of `useEntity` and `useEntities`. */
export interface UseEntityOptions {
  /**
   * Suspends the component (throws a promise to the nearest `<Suspense>`) until the key has its
   * first value or error, so `status` is never `loading`. Errors are returned, not thrown.
   * @default false
   */
  suspense?: boolean;
  /**
   * When the key changes, keep returning the previous key's `data` (with `status: 'loading'` and
   * `stale: true`) until the new key's first value or error, instead of `undefined`.
   * `useEntity` only.
   * @default true
   */
  keepPreviousData?: boolean;
}

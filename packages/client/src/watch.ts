import { type ClientError, goesOn } from './errors.js';
import type { ConnectionState, EntityKey, StateDetail } from './types.js';

/** Options of `client.watch`. */
export interface WatchOptions {
  /**
   * Ends the iterator (and the subscription) when aborted.
   * @default undefined
   */
  signal?: AbortSignal;
  /**
   * Receives the per-key errors after which the subscription goes on (`FORBIDDEN`,
   * `FETCH_FAILED`, `FETCH_TIMEOUT`, `UNAVAILABLE`, `RATE_LIMITED`). Without it they go to the client's `error`
   * event. Errors after which the server dropped the key make the iterator throw instead.
   * @default undefined
   */
  onError?: (error: ClientError) => void;
}

/** The part of a client `watchKey` uses: the client itself. */
export interface Source<T> {
  /** `closed`: the client is closed for good. */
  readonly state: ConnectionState;
  subscribe(key: EntityKey, listener: (value: T | null) => void, onError: (error: ClientError) => void): () => void;
  on(event: 'state', listener: (state: ConnectionState, detail: StateDetail) => void): () => void;
}

/**
 * Turns a subscription into an async iterator. Values are buffered until read, in order (a
 * handler may send several values per change, so none is dropped). It ends when the loop is left,
 * the signal aborts, or the client closes; it throws when the server drops the key.
 */
export function watchKey<T>(
  client: Source<T>,
  key: EntityKey,
  options: WatchOptions,
  report: (error: ClientError) => void,
): AsyncIterableIterator<T | null> {
  const values: (T | null)[] = [];
  let failure: ClientError | undefined;
  let done = false;
  let waiter: { resolve(r: IteratorResult<T | null>): void; reject(e: unknown): void } | undefined;

  const wake = () => {
    if (!waiter) return;
    const w = waiter;
    if (values.length > 0) w.resolve({ value: values.shift()!, done: false });
    else if (failure) {
      w.reject(failure);
      failure = undefined;
    } else if (done) w.resolve({ value: undefined, done: true });
    else return;
    waiter = undefined;
  };
  const finish = () => {
    if (done) return;
    done = true;
    stop();
    offState();
    options.signal?.removeEventListener('abort', finish);
    wake();
  };
  const onError = (error: ClientError) => {
    if (goesOn(error.code)) {
      if (options.onError) options.onError(error);
      else report(error);
    } else {
      failure = error;
      finish();
    }
  };
  const stop = client.subscribe(
    key,
    (value: T | null) => {
      values.push(value);
      wake();
    },
    onError,
  );
  const offState = client.on('state', (state) => state === 'closed' && finish());
  if (options.signal?.aborted || client.state === 'closed') finish();
  else options.signal?.addEventListener('abort', finish);

  return {
    next: () =>
      new Promise((resolve, reject) => {
        waiter = { resolve, reject };
        wake();
      }),
    return: () => {
      values.length = 0;
      failure = undefined;
      finish();
      return Promise.resolve({ value: undefined, done: true });
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

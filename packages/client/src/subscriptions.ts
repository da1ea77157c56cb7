import type { ClientError } from './errors.js';
import type { EntityKey, Listener } from './types.js';

/** A correlation id the client puts on each message (`ref`). */
export type Ref = number;

/** One `subscribe` call: its listener and its error callback. */
export interface Watcher {
  listener: Listener<unknown>;
  onError: ((error: ClientError) => void) | undefined;
}

/**
 * The client's state for one key, shared by every watcher of that key (ref counting: the key is
 * subscribed on the server while it has at least one watcher).
 */
export class Subscription {
  readonly watchers = new Set<Watcher>();
  /** The ref of the subscribe message whose ack is awaited on the current connection. */
  ref: Ref | undefined;
  /** A subscribe for this key went out on the current connection and was not dropped. */
  sent = false;
  /** The server dropped the key (e.g. `UNKNOWN_ENTITY`); not resubscribed on reconnect. */
  failed = false;
  /** The last value received, handed to watchers that join later. */
  last: { value: unknown } | undefined;
  /** The last per-key error since the last value, handed to watchers that join later. */
  error: ClientError | undefined;
  /** `UNAVAILABLE` answers in a row, for the retry backoff. */
  retries = 0;
  /** The pending subscribe carried the fingerprint of `last` and no value came since. */
  resuming = false;

  constructor(readonly key: EntityKey) {}

  /** Hands a value to every watcher; `onThrow` gets what a listener throws. */
  deliver(value: unknown, snapshot: boolean, onThrow: (error: unknown) => void): void {
    this.last = { value };
    this.error = undefined;
    this.resuming = false;
    for (const watcher of [...this.watchers]) this.call(watcher, value, snapshot, onThrow);
  }

  /** Hands an error to every watcher; returns `true` if some watcher has no error callback. */
  fail(error: ClientError, onThrow: (error: unknown) => void): boolean {
    this.error = error;
    let unhandled = false;
    for (const watcher of [...this.watchers]) {
      if (!watcher.onError) unhandled = true;
      else callSafely(watcher.onError, error, onThrow);
    }
    return unhandled;
  }

  /** Gives a watcher that joined an already subscribed key what the others already saw. */
  catchUp(watcher: Watcher, onThrow: (error: unknown) => void): boolean {
    if (!this.watchers.has(watcher)) return false;
    if (this.last) this.call(watcher, this.last.value, true, onThrow);
    else if (this.error) {
      if (!watcher.onError) return true;
      callSafely(watcher.onError, this.error, onThrow);
    }
    return false;
  }

  private call(watcher: Watcher, value: unknown, snapshot: boolean, onThrow: (error: unknown) => void): void {
    try {
      watcher.listener(value, { key: this.key, snapshot });
    } catch (error) {
      onThrow(error);
    }
  }
}

function callSafely(fn: (error: ClientError) => void, error: ClientError, onThrow: (error: unknown) => void): void {
  try {
    fn(error);
  } catch (thrown) {
    onThrow(thrown);
  }
}

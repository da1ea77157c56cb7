import type { EncodedBatch } from './encode.js';
import { EntitySyncError } from './errors.js';
import type { EntityKey, KeyString } from './keys.js';
import type { ErrorFrame } from './protocol.js';
import type { Subscriber, Subscription } from './subscription.js';
import type { User } from './types.js';

/** Receives each value of a key server code follows (`null`: gone or not visible). */
export type ValueListener = (value: unknown, key: EntityKey) => void;

/** Options of `sync.subscribe` for server code. */
export interface ServerSubscribeOptions {
  /** The secret fetches and `authorize` see, as for a client with this secret. @default '' */
  secret?: string;
  /** The user (`ctx.user`); when absent and the node has `identify`, it identifies `secret`. */
  user?: User | null;
  /** Errors of later fetches (`FETCH_FAILED`, `FETCH_TIMEOUT`) and a key becoming `FORBIDDEN`. */
  onError?: (error: EntitySyncError) => void;
}

/**
 * Server code subscribed to a key (`sync.subscribe`): a subscriber like a client connection,
 * with the same fetch groups, authorization and ordering rules, that hands values to a function
 * instead of writing frames.
 */
export class ServerSubscriber implements Subscriber {
  readonly protocol = 'v1' as const;
  readonly generation = 0;
  readonly identity: Promise<void> | undefined = undefined;
  readonly subscriptions = new Map<KeyString, Subscription>();

  constructor(
    readonly id: string,
    readonly secret: string,
    readonly user: User | null,
    private readonly listener: ValueListener,
    private readonly onError: ((error: EntitySyncError) => void) | undefined,
    private readonly report: (error: EntitySyncError, key: EntityKey) => void,
  ) {}

  sendValues(sub: Subscription, batch: EncodedBatch): void {
    if (sub.repeats(batch.fingerprint)) return;
    for (const value of batch.values) {
      try {
        this.listener(value.value, sub.key);
      } catch (cause) {
        // The listener is application code: its throw is reported and the subscription goes on.
        this.report(new EntitySyncError('INTERNAL', `a sync.subscribe listener of ${sub.keyString} threw`, { cause }), sub.key);
      }
    }
  }

  sendError(error: ErrorFrame): void {
    this.onError?.(new EntitySyncError(error.code, error.message));
  }
}

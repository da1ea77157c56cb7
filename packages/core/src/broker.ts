/**
 * The message bus between nodes. Brokers are dumb pipes for bytes on subjects: the core builds
 * the subject names and the payloads, and only keys ever travel (never entity data or secrets).
 *
 * One `Broker` object may serve several bridges in one process (tests run a whole cluster on one
 * `MemoryBroker`): each bridge calls {@link Broker.connect} once and gets its own
 * {@link BrokerSession} with its own subscriptions.
 *
 * Implemented by `MemoryBroker` (this package), `createNatsBroker` (`@entity-sync/nats`) and
 * `createRedisBroker` (`@entity-sync/redis`). A third-party broker is one small file that keeps
 * the promises documented on these types (listed under "Writing a broker" in the core README).
 */
export interface Broker {
  /**
   * Opens one node's session on the bus. Called once per bridge, before anything else.
   * Resolves when the session can publish and subscribe.
   */
  connect(handlers: BrokerHandlers): Promise<BrokerSession>;
}

/** What a session reports back to the bridge that opened it. */
export interface BrokerHandlers {
  /** Every message on a subject this session subscribed to, including its own publishes. */
  message(subject: string, payload: Uint8Array): void;
  /**
   * Loss (`'down'`) and recovery (`'up'`) of the bus connection. After `'up'` the bridge
   * re-fetches every key it holds, because notifications may have been lost meanwhile.
   * A session must restore its own subscriptions on recovery before reporting `'up'`.
   */
  status?(status: BrokerStatus): void;
  /** Background failures of the session (a failed resubscribe, a protocol error). */
  error?(error: Error): void;
}

export type BrokerStatus = 'up' | 'down';

/** One node's view of the bus. */
export interface BrokerSession {
  /**
   * Subscribes to one exact subject (never a wildcard). Resolves only once the server has
   * confirmed the subscription, so a message published after it resolves is delivered.
   * Idempotent.
   */
  subscribe(subject: string): Promise<void>;
  /** Stops delivery for `subject`. Idempotent. */
  unsubscribe(subject: string): Promise<void>;
  /**
   * At-most-once delivery to every session subscribed to `subject`, including this one.
   * Resolves once the broker confirmed it has the message. While the connection is down it
   * rejects at once (after reporting `'down'`), so the node's bus holds the publish: core's
   * buffer is the only one, and a broker keeps none of its own.
   */
  publish(subject: string, payload: Uint8Array): Promise<void>;
  /** Drops this session's subscriptions. Does not close connections the user passed in. */
  close(): Promise<void>;
}

export function isBroker(value: unknown): value is Broker {
  return typeof value === 'object' && value !== null && typeof (value as { connect?: unknown }).connect === 'function';
}

/** A message as the callback of {@link NatsConnectionLike.subscribe} receives it. */
export interface NatsMsgLike {
  subject: string;
  data: Uint8Array;
}

/** What `subscribe` returns. */
export interface NatsSubscriptionLike {
  unsubscribe(max?: number): void;
}

/** A connection status event (`nats` v2 `Status`, `@nats-io/transport-node` v3 `Status`). */
export interface NatsStatusLike {
  /** The broker acts on `'disconnect'` and `'reconnect'` and ignores the rest. */
  type: string;
}

/**
 * The part of a NATS connection the broker uses, typed structurally so that connections from
 * `nats` v2 and `@nats-io/transport-node` v3 both fit.
 */
export interface NatsConnectionLike {
  /** Queues a message; while reconnecting, the client library buffers it. */
  publish(subject: string, data?: Uint8Array): void;
  /** Subscribes with a callback (the broker never iterates subscriptions). */
  subscribe(subject: string, opts: { callback(err: Error | null, msg: NatsMsgLike): void }): NatsSubscriptionLike;
  /** Round trip to the server: resolves once everything sent before it was processed. */
  flush(): Promise<void>;
  /** Connection status events, until the connection closes. */
  status(): AsyncIterable<NatsStatusLike>;
  /** Resolves (with an error if it failed) once the connection is closed for good. */
  // biome-ignore lint/suspicious/noConfusingVoidType: the signature of nats.js
  closed(): Promise<void | Error>;
  close(): Promise<void>;
  isClosed(): boolean;
  /** The server's `INFO`; `cluster` is set when that server is part of a cluster. */
  readonly info?: { cluster?: string | undefined } | undefined;
}

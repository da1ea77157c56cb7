/**
 * The codes of v1 `error` frames: a closed list, documented in docs/protocol.md. Clients match
 * on them; the `message` next to them is for humans.
 */
export const WireErrorCode = {
  /** The frame is not valid JSON, not an object, has an unknown action or a wrong-typed field. */
  BAD_MESSAGE: 'BAD_MESSAGE',
  /** No fetch handler is registered for the entity type. */
  UNKNOWN_ENTITY: 'UNKNOWN_ENTITY',
  /** The entity name or the id breaks the key rules. */
  INVALID_KEY: 'INVALID_KEY',
  /** The secret is longer than the server accepts. */
  INVALID_SECRET: 'INVALID_SECRET',
  /** `authorize` said no for this key and this secret. The subscription is held. */
  FORBIDDEN: 'FORBIDDEN',
  /** The connection holds as many subscriptions as the server allows. */
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  /** The connection sent messages faster than the server allows; this one was dropped. Retry later. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** The connection's secret expired: nothing is sent until a new secret arrives. */
  SECRET_EXPIRED: 'SECRET_EXPIRED',
  /** The fetch handler threw. The subscription is held; the next change fetches again. */
  FETCH_FAILED: 'FETCH_FAILED',
  /** The fetch handler did not settle within `fetchTimeoutMs`. The subscription is held. */
  FETCH_TIMEOUT: 'FETCH_TIMEOUT',
  /** The bus could not confirm the subscription; the client should subscribe again later. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** A server hook (`authorize`, pass-through) threw. Details stay in the server's logs. */
  INTERNAL: 'INTERNAL',
  /**
   * The server's `identify` hook threw for the new secret: the secret is set, but the connection
   * is anonymous until a secret identifies it; its keys were authorized again as such.
   */
  IDENTIFY_FAILED: 'IDENTIFY_FAILED',
} as const;

export type WireErrorCode = keyof typeof WireErrorCode;

/** Per-key codes after which the server still holds the subscription (data may come later). */
export const HELD_CODES: ReadonlySet<string> = new Set<WireErrorCode>(['FORBIDDEN', 'FETCH_FAILED', 'FETCH_TIMEOUT']);

/** Close codes. docs/protocol.md has the table; {@link CLOSE_RETRY} says how a client reacts. */
export const CloseCode = {
  /** Normal close, e.g. after the client asked for it. */
  Normal: 1000,
  /** The server is shutting down: reconnect (to another node). */
  GoingAway: 1001,
  /** A frame was larger than `maxPayload`. */
  MessageTooBig: 1009,
  /** Unexpected server error. */
  InternalError: 1011,
  /** The node is draining (a deploy): reconnect, to another node, after a short random delay. */
  ServiceRestart: 1012,
  /** The client read too slowly and its buffer passed the hard limit: reconnect. */
  SlowConsumer: 4008,
  /** Authentication refused after the upgrade, or revoked: do not reconnect with the same credentials. */
  Unauthorized: 4401,
  /** The connection is not allowed (revoked): do not reconnect. */
  Forbidden: 4403,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** How a client reacts to a close code: reconnect at once, with backoff, or never. */
export type CloseRetry = 'at-once' | 'backoff' | 'never';

/** The client's reaction to each close code the server sends; any other code: `backoff`. */
export const CLOSE_RETRY: Readonly<Record<CloseCode, CloseRetry>> = {
  1000: 'backoff',
  1001: 'at-once',
  1009: 'backoff',
  1011: 'backoff',
  1012: 'at-once',
  4008: 'backoff',
  4401: 'never',
  4403: 'never',
};

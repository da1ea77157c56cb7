/**
 * Error codes. The wire codes travel in v1 `error` frames and are the closed list documented in
 * docs/protocol.md; the others only reach application code (thrown, or passed to `onError`).
 */
export const ErrorCode = {
  // Sent to clients (v1 `error` frames).
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
  /** The fetch handler threw. The subscription is held; the next change fetches again. */
  FETCH_FAILED: 'FETCH_FAILED',
  /** The fetch handler did not settle within `fetchTimeoutMs`. The subscription is held. */
  FETCH_TIMEOUT: 'FETCH_TIMEOUT',
  /** The bus could not confirm the subscription; the client should subscribe again later. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** The pass-through hook or an `authorize` hook threw. Details go to `onError` only. */
  INTERNAL: 'INTERNAL',
  // Application side only.
  /** `createEntitySync`, `registerEntity` or `attachWebSocket` got an invalid option. */
  INVALID_OPTIONS: 'INVALID_OPTIONS',
  /** The broker did not accept a publish within `busTimeoutMs`, or its buffer is full. */
  PUBLISH_FAILED: 'PUBLISH_FAILED',
  /** The bridge is closed. */
  CLOSED: 'CLOSED',
} as const;

export type ErrorCode = keyof typeof ErrorCode;

/** Codes that may appear in a v1 `error` frame. */
export type WireErrorCode = Exclude<ErrorCode, 'INVALID_OPTIONS' | 'PUBLISH_FAILED' | 'CLOSED'>;

/** The one error class of the library: a code, a message, and the original in `cause`. */
export class EntitySyncError extends Error {
  override readonly name = 'EntitySyncError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }

  /** Passes an `EntitySyncError` through; wraps anything else as `INTERNAL` with it as cause. */
  static from(cause: unknown, code: ErrorCode = 'INTERNAL'): EntitySyncError {
    if (cause instanceof EntitySyncError) return cause;
    const message = cause instanceof Error ? cause.message : String(cause);
    return new EntitySyncError(code, message, { cause });
  }
}

import { WireErrorCode } from '@entity-sync/protocol';

/**
 * Error codes. The wire codes travel in v1 `error` frames and are the closed list documented in
 * docs/protocol.md; the others only reach application code (thrown, or passed to `onError`).
 */
export const ErrorCode = {
  // Sent to clients (v1 `error` frames), defined with the protocol.
  ...WireErrorCode,
  // Application side only.
  /** `createEntitySync`, `registerEntity` or `attachWebSocket` got an invalid option. */
  INVALID_OPTIONS: 'INVALID_OPTIONS',
  /** The broker did not accept a publish within `busTimeoutMs`, or its buffer is full. */
  PUBLISH_FAILED: 'PUBLISH_FAILED',
  /** The bridge is closed. */
  CLOSED: 'CLOSED',
} as const;

export type ErrorCode = keyof typeof ErrorCode;

export type { WireErrorCode };

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

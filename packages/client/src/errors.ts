import type { EntityKey } from './types.js';

/**
 * Error codes a client can see. The server's codes (see docs/protocol.md) plus three of the
 * client's own: `UNAUTHORIZED` (the server refused the connection: HTTP 401/403 on upgrade or
 * close code 4401/4403; the client stops reconnecting), `BAD_FRAME` (the server sent something
 * that is not a v1 frame) and `LISTENER_ERROR` (a listener threw; the error is in `cause`).
 */
export type ClientErrorCode =
  | 'BAD_MESSAGE'
  | 'UNKNOWN_ENTITY'
  | 'INVALID_KEY'
  | 'INVALID_SECRET'
  | 'FORBIDDEN'
  | 'TOO_MANY_SUBSCRIPTIONS'
  | 'RATE_LIMITED'
  | 'FETCH_FAILED'
  | 'FETCH_TIMEOUT'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'UNAUTHORIZED'
  | 'BAD_FRAME'
  | 'LISTENER_ERROR';

/** Every error the client reports: a code, a message, and the key it concerns, if any. */
export class ClientError extends Error {
  override readonly name = 'ClientError';
  /** The key the error is about (per-key errors only). */
  readonly key: EntityKey | undefined;

  constructor(
    readonly code: ClientErrorCode,
    message: string,
    key?: EntityKey,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.key = key;
  }
}

/** Per-key codes after which the server still holds the subscription (data may come later). */
export const HELD_CODES: ReadonlySet<string> = new Set(['FORBIDDEN', 'FETCH_FAILED', 'FETCH_TIMEOUT']);

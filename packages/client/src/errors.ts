import { type EntityKey, HELD_CODES, type WireErrorCode } from '@entity-sync/protocol';

/**
 * Error codes a client can see. The server's codes (see docs/protocol.md) plus three of the
 * client's own: `UNAUTHORIZED` (the server refused the connection: HTTP 401/403 on upgrade or
 * close code 4401/4403; the client stops reconnecting), `BAD_FRAME` (the server sent something
 * that is not a v1 frame) and `LISTENER_ERROR` (a listener threw; the error is in `cause`).
 */
export type ClientErrorCode = WireErrorCode | 'UNAUTHORIZED' | 'BAD_FRAME' | 'LISTENER_ERROR';

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

/** Whether the client subscribes a key again, after a backoff delay, after this error. */
export const retried = (code: string): boolean => code === 'UNAVAILABLE' || code === 'RATE_LIMITED';

/** Whether a key's subscription goes on after this error: the server holds it, or the client retries it. */
export const goesOn = (code: string): boolean => HELD_CODES.has(code) || retried(code);

export { HELD_CODES };

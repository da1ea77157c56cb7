import type { IncomingMessage } from 'node:http';
import { EntitySyncError } from '@entity-sync/core';
import { TokenSet } from './tokens.js';

/** Decides whether a request may notify: `true` lets it through, `false` answers 401. May be async. */
export type VerifyRequest = (req: IncomingMessage) => boolean | Promise<boolean>;

/** Context of an {@link NotifyErrorHandler} call: the request that met the failure. */
export interface NotifyErrorContext {
  req: IncomingMessage;
}

/** Receives what a 500 or 503 answer does not tell the caller (the original error is the `cause`). */
export type NotifyErrorHandler = (error: EntitySyncError, ctx: NotifyErrorContext) => void;

/** Options of {@link createNotifyHandler}. Give exactly one of `tokens` and `verify`. */
export interface NotifyHandlerOptions {
  /**
   * Accepted `Authorization: Bearer <token>` tokens. Several let you rotate: add the new one,
   * move producers over, drop the old one. Compared in constant time.
   */
  tokens?: readonly string[];
  /**
   * Your own check instead of `tokens` (a signed header, mTLS, an IP allow-list): `true` to
   * accept, `false` for 401. A throw answers 500 and goes to `onError`. `() => true` opens the
   * endpoint to anyone who can reach it.
   */
  verify?: VerifyRequest;
  /** The largest body in bytes; a longer one gets 413 and is not read further. @default 1048576 (1 MiB) */
  maxBodyBytes?: number;
  /** The most entries in `keys`; more get 413 `TOO_MANY_KEYS`. @default 1000 */
  maxKeys?: number;
  /** The whole body must arrive within this many ms of the handler starting to read it, else 408. @default 10000 */
  bodyTimeoutMs?: number;
  /** The `Retry-After` of a 503, in seconds. @default 1 */
  retryAfterSeconds?: number;
  /**
   * Failures behind a 500 or 503 (a throwing `verify`, a publish the bus refused). Without it,
   * each code is reported once through `process.emitWarning`.
   */
  onError?: NotifyErrorHandler;
}

export interface ResolvedNotifyOptions {
  verify: VerifyRequest;
  maxBodyBytes: number;
  maxKeys: number;
  bodyTimeoutMs: number;
  retryAfterSeconds: number;
  onError: NotifyErrorHandler | undefined;
}

export function resolveOptions(input: NotifyHandlerOptions | undefined): ResolvedNotifyOptions {
  const options = input ?? {};
  return {
    verify: verifier(options),
    maxBodyBytes: positiveInt(options.maxBodyBytes, 1024 * 1024, 'maxBodyBytes'),
    maxKeys: positiveInt(options.maxKeys, 1000, 'maxKeys'),
    bodyTimeoutMs: positiveInt(options.bodyTimeoutMs, 10_000, 'bodyTimeoutMs'),
    retryAfterSeconds: nonNegativeInt(options.retryAfterSeconds, 1, 'retryAfterSeconds'),
    onError: optionalFunction(options.onError, 'onError'),
  };
}

function verifier(options: NotifyHandlerOptions): VerifyRequest {
  const { tokens, verify } = options;
  if ((tokens === undefined) === (verify === undefined)) {
    throw invalid('give exactly one of `tokens` and `verify` (`verify: () => true` for an open endpoint)');
  }
  if (verify !== undefined) return optionalFunction(verify, 'verify')!;
  if (!Array.isArray(tokens) || tokens.length === 0 || !tokens.every((t) => typeof t === 'string' && t.length > 0)) {
    throw invalid('`tokens` must be a non-empty array of non-empty strings');
  }
  const set = new TokenSet(tokens);
  return (req) => set.accepts(req);
}

function optionalFunction<T>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw invalid(`\`${name}\` must be a function`);
  return value;
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) throw invalid(`\`${name}\` must be a positive integer, got ${String(value)}`);
  return v;
}

function nonNegativeInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 0) throw invalid(`\`${name}\` must be a non-negative integer, got ${String(value)}`);
  return v;
}

function invalid(message: string): EntitySyncError {
  return new EntitySyncError('INVALID_OPTIONS', `createNotifyHandler: ${message}`);
}

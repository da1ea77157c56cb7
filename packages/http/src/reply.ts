import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The codes of the endpoint's error bodies, `{"error": {"code", "message", ...}}`, each with its
 * HTTP status. A producer retries only `BODY_TIMEOUT` and `UNAVAILABLE` (after `Retry-After`).
 */
export const NotifyErrorCode = {
  /** 400: the body is not valid UTF-8 JSON. */
  BAD_JSON: 'BAD_JSON',
  /** 400: the JSON is not `{"keys": [...]}` or `{"resync": true}`. */
  BAD_BODY: 'BAD_BODY',
  /** 400: an entry of `keys` is not a valid key or tag; `index` says which. */
  INVALID_KEY: 'INVALID_KEY',
  /** 401: no `Authorization: Bearer` token, a wrong one, or `verify` said no. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** 405: the method is not `POST`; `Allow: POST` says which is. */
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  /** 408: the body did not arrive within `bodyTimeoutMs`. */
  BODY_TIMEOUT: 'BODY_TIMEOUT',
  /** 413: the body is longer than `maxBodyBytes`; `limit` says how long it may be. */
  BODY_TOO_LARGE: 'BODY_TOO_LARGE',
  /** 413: more entries in `keys` than `maxKeys`; `limit` says how many fit. Split the batch. */
  TOO_MANY_KEYS: 'TOO_MANY_KEYS',
  /** 415: the `Content-Type` is not `application/json` (UTF-8). */
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  /** 500: `verify` threw, or something unexpected failed. Details go to `onError` only. */
  INTERNAL: 'INTERNAL',
  /** 503: the bus did not accept the change (broker down) or the node is closing. Retry. */
  UNAVAILABLE: 'UNAVAILABLE',
} as const;

export type NotifyErrorCode = keyof typeof NotifyErrorCode;

/** What the handler answers: a status, a JSON body, and extra headers. */
export interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** An error reply: `{"error": {"code", "message", ...extra}}`. */
export function problem(
  status: number,
  code: NotifyErrorCode,
  message: string,
  extra: Record<string, unknown> = {},
  headers?: Record<string, string>,
): Reply {
  return { status, body: { error: { code, message, ...extra } }, ...(headers && { headers }) };
}

/**
 * Writes `reply` unless the response is already gone. When the request body was not read to its
 * end (an early refusal, a body too large or too slow), the connection is closed after the
 * response instead of reading and discarding the rest of the body.
 */
export function send(req: IncomingMessage, res: ServerResponse, reply: Reply): void {
  if (res.headersSent || res.writableEnded || res.destroyed) return;
  const body = JSON.stringify(reply.body);
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.setHeader('Cache-Control', 'no-store');
  if (!req.complete) {
    res.setHeader('Connection', 'close');
    req.pause();
  }
  res.end(body);
}

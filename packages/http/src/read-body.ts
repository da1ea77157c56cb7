import type { IncomingMessage } from 'node:http';
import { problem, type Reply } from './reply.js';

/** Limits on reading one request body. */
export interface BodyLimits {
  maxBodyBytes: number;
  bodyTimeoutMs: number;
}

/** A body read and parsed as JSON, or the reply that refuses it. */
export type BodyResult = { ok: true; value: unknown } | { ok: false; reply: Reply };

const decoder = new TextDecoder('utf-8', { fatal: true });

/** `undefined` when `header` is `application/json` (UTF-8 if a charset is given), else the 415 reply. */
export function mediaTypeProblem(header: string | undefined): Reply | undefined {
  const [type = '', ...params] = (header ?? '').split(';').map((part) => part.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (type === 'application/json' && (charset === undefined || charset === 'utf-8' || charset === 'utf8')) return undefined;
  const got = header === undefined ? 'no Content-Type' : `Content-Type ${JSON.stringify(header)}`;
  return problem(415, 'UNSUPPORTED_MEDIA_TYPE', `the body must be JSON sent as Content-Type: application/json; got ${got}`);
}

/**
 * Reads the body of `req` and parses it as JSON. It stops reading (and keeps nothing more) as
 * soon as the body passes `maxBodyBytes`, and gives up when the body has not ended within
 * `bodyTimeoutMs`. When middleware already read the body (Express `express.json()`), it takes
 * `req.body` instead.
 */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<BodyResult> {
  if (req.readableEnded) return fromParsedBody((req as { body?: unknown }).body, limits);
  const declared = Number(req.headers['content-length']);
  if (declared > limits.maxBodyBytes) return refuse(tooLarge(limits));
  return collect(req, limits);
}

function collect(req: IncomingMessage, limits: BodyLimits): Promise<BodyResult> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: BodyResult): void => {
      clearTimeout(timer);
      req.off('data', onData).off('end', onEnd).off('close', onClose);
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limits.maxBodyBytes) finish(refuse(tooLarge(limits)));
      else chunks.push(chunk);
    };
    const onEnd = (): void => finish(parseJson(Buffer.concat(chunks, size)));
    const onClose = (): void => finish(refuse(problem(400, 'BAD_BODY', 'the request ended before its body did')));
    const timer = setTimeout(() => {
      finish(refuse(problem(408, 'BODY_TIMEOUT', `the body did not arrive within ${limits.bodyTimeoutMs} ms`)));
    }, limits.bodyTimeoutMs);
    req.on('data', onData).on('end', onEnd).on('close', onClose);
  });
}

function fromParsedBody(body: unknown, limits: BodyLimits): BodyResult {
  if (body === undefined) {
    return refuse(problem(400, 'BAD_JSON', 'the body was already read by other middleware, which left no req.body'));
  }
  if (typeof body === 'string') body = Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) {
    if (body.length > limits.maxBodyBytes) return refuse(tooLarge(limits));
    return parseJson(body);
  }
  return { ok: true, value: body };
}

function parseJson(bytes: Uint8Array): BodyResult {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    return refuse(problem(400, 'BAD_JSON', 'the body is not valid UTF-8'));
  }
  if (text.trim() === '') return refuse(problem(400, 'BAD_JSON', 'the body is empty'));
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return refuse(problem(400, 'BAD_JSON', `the body is not valid JSON: ${(error as Error).message}`));
  }
}

function refuse(reply: Reply): BodyResult {
  return { ok: false, reply };
}

function tooLarge(limits: BodyLimits): Reply {
  return problem(413, 'BODY_TOO_LARGE', `the body is longer than ${limits.maxBodyBytes} bytes`, { limit: limits.maxBodyBytes });
}

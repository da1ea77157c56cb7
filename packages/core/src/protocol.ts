import {
  Action,
  canonicalParams,
  FrameType,
  MAX_REF_LENGTH,
  MAX_SECRET_LENGTH,
  type Params,
  type ProtocolMode,
  type Ref,
  type WireErrorCode,
} from '@entity-sync/protocol';
import { type EntityKey, keyProblem } from './keys.js';

export {
  Action,
  CloseCode,
  DEFAULT_PATH,
  FrameType,
  MAX_SECRET_LENGTH,
  PROTOCOL_V1,
  type ProtocolMode,
  type Ref,
  type ServerFrame,
} from '@entity-sync/protocol';

export type ClientMessage =
  | {
      action: 'subscribe' | 'unsubscribe';
      keys: KeyEntry[];
      ref?: Ref /** v1 subscribe: the client takes delta frames. */;
      deltas?: boolean;
    }
  | { action: 'secret'; secret: string; expiresAt?: number; ref?: Ref }
  | { action: 'passthrough'; message: unknown; ref?: Ref };

/** One key of a subscribe/unsubscribe body: valid, or the reason it is not. */
export type KeyEntry =
  | { ok: true; key: EntityKey /** v1 resume: the fingerprint of the value the client holds. */; fp?: number }
  | { ok: false; problem: string; entity?: string; id?: string };

export interface ParseError {
  code: WireErrorCode;
  message: string;
  ref?: Ref;
}

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; error: ParseError };

/**
 * Parses one client frame. Field names match case-insensitively and the last of duplicate
 * names wins, as in the Go library's JSON decoder; unknown fields are ignored.
 * Batch bodies (arrays of keys) are v1 only.
 */
export function parseClientMessage(text: string, mode: ProtocolMode): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('BAD_MESSAGE', 'frame is not valid JSON');
  }
  if (raw === null) return { ok: true, message: { action: 'passthrough', message: null } };
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    return fail('BAD_MESSAGE', 'message must be a JSON object');
  }
  const message = raw as Record<string, unknown>;
  // `ref` is v1 only: to legacy mode (the Go library) it is an unknown field, ignored.
  const ref = mode === 'v1' ? fieldOf(message, 'ref') : undefined;
  if (ref !== undefined && !isRef(ref)) {
    return fail('BAD_MESSAGE', `ref must be a string of at most ${MAX_REF_LENGTH} characters or a finite number`);
  }
  const withRef = <T extends ClientMessage>(m: T): ParseResult => ({
    ok: true,
    message: ref === undefined ? m : { ...m, ref },
  });
  const action = fieldOf(message, 'action');
  const body = fieldOf(message, 'body');
  if (action === undefined || action === null || action === '') {
    return withRef({ action: 'passthrough', message: raw });
  }
  switch (action) {
    case Action.subscribe:
    case Action.unsubscribe: {
      const keys = parseKeys(body, mode);
      if (keys === undefined) return fail('BAD_MESSAGE', 'body must be a key {"entity","id"} or, in v1, an array of keys', ref);
      const deltas = mode === 'v1' && action === Action.subscribe ? fieldOf(message, 'deltas') : undefined;
      if (deltas !== undefined && typeof deltas !== 'boolean') return fail('BAD_MESSAGE', 'deltas must be a boolean', ref);
      return withRef({ action: action as 'subscribe' | 'unsubscribe', keys, ...(deltas === undefined ? {} : { deltas }) });
    }
    case Action.secret: {
      if (body !== null && body !== undefined && typeof body !== 'string') {
        return fail('BAD_MESSAGE', 'secret body must be a string or null', ref);
      }
      const secret = body ?? '';
      if (secret.length > MAX_SECRET_LENGTH) {
        return fail('INVALID_SECRET', `secret must be at most ${MAX_SECRET_LENGTH} characters`, ref);
      }
      // v1: the secret may say when it expires (ms since the epoch); nothing flows after that.
      const expiresAt = mode === 'v1' ? fieldOf(message, 'expiresat') : undefined;
      if (expiresAt !== undefined && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) {
        return fail('BAD_MESSAGE', 'expiresAt must be a number (ms since the epoch)', ref);
      }
      return withRef(expiresAt === undefined ? { action: Action.secret, secret } : { action: Action.secret, secret, expiresAt });
    }
    default:
      return fail('BAD_MESSAGE', typeof action === 'string' ? `unknown action "${truncate(action)}"` : 'action must be a string', ref);
  }
}

function parseKeys(body: unknown, mode: ProtocolMode): KeyEntry[] | undefined {
  const parse = mode === 'v1' ? parseKeyV1 : parseKey;
  if (Array.isArray(body)) return mode === 'v1' && body.length > 0 ? body.map(parse) : undefined;
  if (typeof body === 'object' && body !== null) return [parse(body)];
  return undefined;
}

/**
 * v1 keys may be query keys (`{"entity","params":{...}}` instead of an id), and may carry the
 * fingerprint of the value the client holds (`"fp"`, for a resume without resending).
 */
function parseKeyV1(value: unknown): KeyEntry {
  const entry = parseQueryOrKey(value);
  const fp = entry.ok && typeof value === 'object' && value !== null ? fieldOf(value as Record<string, unknown>, 'fp') : undefined;
  if (fp === undefined || !entry.ok) return entry;
  if (typeof fp !== 'number' || !Number.isSafeInteger(fp) || fp < 0)
    return invalidKey('fp must be a fingerprint (a non-negative safe integer)', entry.key.entity, entry.key.id);
  return { ...entry, fp };
}

function parseQueryOrKey(value: unknown): KeyEntry {
  const params = typeof value === 'object' && value !== null ? fieldOf(value as Record<string, unknown>, 'params') : undefined;
  if (params === undefined) return parseKey(value);
  const entity = fieldOf(value as Record<string, unknown>, 'entity');
  if (fieldOf(value as Record<string, unknown>, 'id') !== undefined)
    return invalidKey('a key has an id or params, not both', entity, undefined);
  if (typeof entity !== 'string') return invalidKey('entity must be a string', entity, undefined);
  const problem = keyProblem({ entity, id: '', params: params as Params });
  if (problem !== undefined) return invalidKey(problem, entity, undefined);
  return { ok: true, key: { entity, id: canonicalParams(params as Params), params: params as Params } };
}

function parseKey(value: unknown): KeyEntry {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, problem: 'key must be an object {"entity","id"}' };
  }
  const entity = fieldOf(value as Record<string, unknown>, 'entity');
  const id = fieldOf(value as Record<string, unknown>, 'id');
  if (typeof entity === 'string' && typeof id === 'string') {
    const key = { entity, id };
    const problem = keyProblem(key);
    if (problem === undefined) return { ok: true, key };
    return invalidKey(problem, entity, id);
  }
  return invalidKey(typeof entity !== 'string' ? 'entity must be a string' : 'id must be a string', entity, id);
}

/** A key that failed, echoing what of it can be echoed (cut short). */
function invalidKey(problem: string, entity: unknown, id: unknown): KeyEntry {
  return {
    ok: false,
    problem,
    ...(typeof entity === 'string' ? { entity: truncate(entity) } : {}),
    ...(typeof id === 'string' ? { id: truncate(id, 300) } : {}),
  };
}

/**
 * The value of field `name` (lowercase), matched case-insensitively; the last match in the
 * document wins, as in the Go library's decoder. Only own fields named like `name` are read,
 * so `"__proto__"` is never looked up.
 */
function fieldOf(value: Record<string, unknown>, name: string): unknown {
  let found: unknown;
  for (const field of Object.keys(value)) {
    if (field.length === name.length && (field === name || field.toLowerCase() === name)) found = value[field];
  }
  return found;
}

function isRef(value: unknown): value is Ref {
  return (typeof value === 'string' && value.length <= MAX_REF_LENGTH) || (typeof value === 'number' && Number.isFinite(value));
}

function fail(code: WireErrorCode, message: string, ref?: unknown): ParseResult {
  const error: ParseError = { code, message };
  if (isRef(ref)) error.ref = ref;
  return { ok: false, error };
}

function truncate(value: string, max = 64): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

// ---------------------------------------------------------------------------------------------
// Server frames (v1). Built as strings directly: they are on the hot path.

export const CONNECTED_FRAME = JSON.stringify({ type: FrameType.connected, protocol: 1 });

export function ackFrame(ref: Ref): string {
  return `{"type":"ack","ref":${JSON.stringify(ref)}}`;
}

export interface ErrorFrame {
  code: WireErrorCode;
  message: string;
  ref?: Ref;
  entity?: string;
  id?: string;
}

export function errorFrame(error: ErrorFrame): string {
  const { code, message, ref, entity, id } = error;
  return JSON.stringify({ type: FrameType.error, ref, code, message, entity, id });
}

/** The start of a `data` frame for `key`; append the value's JSON and `}`. */
export function dataFramePrefix(key: EntityKey): string {
  return `{"type":"data","entity":${JSON.stringify(key.entity)},"id":${JSON.stringify(key.id)},"data":`;
}

/** A key of a subscribe or unsubscribe that failed to parse, echoing what of it can be echoed. */
export function invalidKeyFrame(entry: Extract<KeyEntry, { ok: false }>): ErrorFrame {
  const { problem, entity, id } = entry;
  return { code: 'INVALID_KEY', message: problem, ...(entity === undefined ? {} : { entity }), ...(id === undefined ? {} : { id }) };
}

export function forbidden(key: EntityKey): ErrorFrame {
  return { code: 'FORBIDDEN', message: `not allowed to subscribe to ${key.entity}/${key.id}`, ...key };
}

export function fetchError(key: EntityKey, code: 'FETCH_FAILED' | 'FETCH_TIMEOUT'): ErrorFrame {
  const message = code === 'FETCH_TIMEOUT' ? 'fetching the entity timed out' : 'fetching the entity failed';
  return { code, message, ...key };
}

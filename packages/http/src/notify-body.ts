import { type EntityKey, keyProblem } from '@entity-sync/core';
import { problem, type Reply } from './reply.js';

/**
 * One entry of `keys`. Tags (design section 9) will be a second shape here, `{ tag }`: accept it
 * in {@link parseEntry} and widen this type; the handler passes entries to `notifyAllOfChange`
 * as they are, so nothing else changes.
 */
export type NotifyEntry = EntityKey;

/** What a valid body asks for. */
export type NotifyRequest = { kind: 'keys'; entries: NotifyEntry[] } | { kind: 'resync' };

export type ParsedBody = { ok: true; request: NotifyRequest } | { ok: false; reply: Reply };

const KEYS_OR_RESYNC = 'expected {"keys": [{"entity": "...", "id": "..."}, ...]} or {"resync": true}';

/** Checks a parsed JSON body: `{"keys": [...]}` with at most `maxKeys` valid entries, or `{"resync": true}`. */
export function parseNotifyBody(body: unknown, maxKeys: number): ParsedBody {
  if (!isObject(body) || Array.isArray(body)) return badBody(`the body is ${describe(body)}; ${KEYS_OR_RESYNC}`);
  const { keys, resync } = body;
  if (keys !== undefined && resync !== undefined) return badBody('give either "keys" or "resync", not both');
  if (resync !== undefined) {
    return resync === true ? { ok: true, request: { kind: 'resync' } } : badBody(`"resync" must be true, got ${describe(resync)}`);
  }
  if (keys === undefined) return badBody(KEYS_OR_RESYNC);
  if (!Array.isArray(keys)) return badBody(`"keys" must be an array, got ${describe(keys)}`);
  if (keys.length > maxKeys) {
    const message = `${keys.length} keys in one request; at most ${maxKeys} are accepted, send the rest in another request`;
    return { ok: false, reply: problem(413, 'TOO_MANY_KEYS', message, { limit: maxKeys }) };
  }
  const entries: NotifyEntry[] = [];
  for (const [index, value] of keys.entries()) {
    const entry = parseEntry(value);
    if (typeof entry === 'string') {
      return { ok: false, reply: problem(400, 'INVALID_KEY', `keys[${index}]: ${entry}`, { index }) };
    }
    entries.push(entry);
  }
  return { ok: true, request: { kind: 'keys', entries } };
}

/** One entry of `keys`, or why it is not valid (core's `keyProblem` for the key rules). */
export function parseEntry(value: unknown): NotifyEntry | string {
  if (!isObject(value) || Array.isArray(value)) return `a key is an object {"entity": string, "id": string}, got ${describe(value)}`;
  if ('tag' in value && !('entity' in value)) return 'tags are not supported yet; a key is {"entity": string, "id": string}';
  const { entity, id } = value;
  if (typeof entity !== 'string') return `"entity" must be a string, got ${describe(entity)}`;
  if (typeof id !== 'string') return `"id" must be a string, got ${describe(id)}`;
  const key = { entity, id };
  return keyProblem(key) ?? key;
}

function badBody(message: string): ParsedBody {
  return { ok: false, reply: problem(400, 'BAD_BODY', message) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (value === undefined) return 'missing';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value).slice(0, 40)}`;
}

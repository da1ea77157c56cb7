import { type EntityKey, keyProblem, type Tag, tagProblem } from '@entity-sync/core';
import { problem, type Reply } from './reply.js';

/**
 * One entry of `keys`: a key `{ entity, id }`, or a tag `{ tag }` (every value whose latest fetch
 * declared `ctx.dependsOn({ tag })` is fetched again). The handler passes entries to
 * `notifyAllOfChange` as they are.
 */
export type NotifyEntry = EntityKey | Tag;

/** What a valid body asks for. */
export type NotifyRequest = { kind: 'keys'; entries: NotifyEntry[] } | { kind: 'resync' };

export type ParsedBody = { ok: true; request: NotifyRequest } | { ok: false; reply: Reply };

const KEYS_OR_RESYNC = 'expected {"keys": [{"entity": "...", "id": "..."} or {"tag": "..."}, ...]} or {"resync": true}';
const ENTRY_SHAPE = 'an entry is a key {"entity": string, "id": string} or a tag {"tag": string}';

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

/** One entry of `keys`, or why it is not valid (core's `keyProblem` and `tagProblem` for the rules). */
export function parseEntry(value: unknown): NotifyEntry | string {
  if (!isObject(value) || Array.isArray(value)) return `${ENTRY_SHAPE}, got ${describe(value)}`;
  if ('tag' in value) return parseTag(value);
  const { entity, id } = value;
  if (typeof entity !== 'string') return `"entity" must be a string, got ${describe(entity)}`;
  if (typeof id !== 'string') return `"id" must be a string, got ${describe(id)}`;
  const key = { entity, id };
  return keyProblem(key) ?? key;
}

function parseTag(value: Record<string, unknown>): Tag | string {
  if ('entity' in value || 'id' in value) return `give either a key or a tag, not both; ${ENTRY_SHAPE}`;
  const { tag } = value;
  const problem = tagProblem(tag);
  if (problem === undefined) return { tag: tag as string };
  const got = typeof tag === 'string' && tag !== '' ? `${Buffer.byteLength(tag, 'utf8')} bytes` : describe(tag);
  return `${problem}, got ${got}`;
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

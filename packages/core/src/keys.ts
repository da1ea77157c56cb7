import type { EntityKey } from '@entity-sync/protocol';

export {
  canonicalParams,
  type Params,
  ENTITY_NAME_PATTERN,
  type EntityId,
  type EntityKey,
  type EntityName,
  type KeyString,
  keyProblem,
  keyString,
  MAX_ID_BYTES,
  parseKeyString,
} from '@entity-sync/protocol';

/**
 * The bus subject of a key: `prefix.entity.<id as base64url>` (an empty id is `=`).
 * The id is encoded so that no id can form a NATS wildcard (`*`, `>`), an extra token (`.`),
 * or whitespace, and so that Redis channel names stay plain ASCII.
 */
export function keySubject(prefix: string, key: EntityKey): string {
  const id = key.id === '' ? '=' : Buffer.from(key.id, 'utf8').toString('base64url');
  return `${prefix}.${key.entity}.${id}`;
}

/** A tag: a name a fetch may depend on (`ctx.dependsOn({ tag })`) and a notify may name. */
export interface Tag {
  tag: string;
}

/** The longest tag, in UTF-8 bytes. */
export const MAX_TAG_BYTES = 256;

/** Returns why `tag` cannot be a tag, or `undefined` when it can. */
export function tagProblem(tag: unknown): string | undefined {
  if (typeof tag !== 'string' || tag === '') return 'a tag is a non-empty string';
  if (Buffer.byteLength(tag, 'utf8') > MAX_TAG_BYTES) return `a tag must be at most ${MAX_TAG_BYTES} bytes`;
  return undefined;
}

/**
 * The bus subject of a tag: `prefix.~tag.<tag as base64url>`. No key's subject can be one (an
 * entity name cannot contain `~`), and no tag can form a wildcard or an extra token.
 */
export function tagSubject(prefix: string, tag: string): string {
  return `${prefix}.~tag.${Buffer.from(tag, 'utf8').toString('base64url')}`;
}

import type { EntityKey } from '@entity-sync/protocol';

export {
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

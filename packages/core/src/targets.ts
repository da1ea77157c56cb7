import { EntitySyncError } from './errors.js';
import { canonicalParams, type EntityKey, keyProblem, keyString, type Params, type Tag, tagProblem } from './keys.js';

/** What a notify may name: a key (`{ entity, id }`), a query key (`{ entity, params }`), or a tag. */
export type ChangeTarget = EntityKey | { entity: string; params: Params } | Tag;

/** A notify target, checked: a key (a query key gets its canonical id), a tag, or why not. */
export function toTarget(target: ChangeTarget): EntityKey | Tag | EntitySyncError {
  const problem = targetProblem(target);
  if (problem !== undefined) return new EntitySyncError('INVALID_KEY', `notifyAllOfChange: ${problem}`);
  if ('tag' in target) return target;
  if ('params' in target && target.params !== undefined && typeof (target as EntityKey).id !== 'string') {
    return { entity: target.entity, id: canonicalParams(target.params), params: target.params };
  }
  return target as EntityKey;
}

export function targetProblem(target: ChangeTarget): string | undefined {
  if (typeof target !== 'object' || target === null) return 'a target is a key {entity, id}, a query key {entity, params} or a tag {tag}';
  if ('tag' in target) return tagProblem(target.tag);
  const { entity, id, params } = target as { entity?: unknown; id?: unknown; params?: unknown };
  if (typeof entity !== 'string') return 'a key is an object {entity: string, id: string}';
  if (params !== undefined && id === undefined) return keyProblem({ entity, id: '', params: params as Params });
  if (typeof id !== 'string') return 'a key is an object {entity: string, id: string}';
  return keyProblem({ entity, id });
}

/** One string per target, to deduplicate them: a key's `entity/id`, a tag's `#tag`. */
export function targetId(target: EntityKey | Tag): string {
  return 'tag' in target ? `#${target.tag}` : keyString(target);
}

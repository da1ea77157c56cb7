import type { EntityMap, EntityNameOf, IsQuery, IsUntypedMap, KeyOf, ParamsOf, ValueOf } from '@entity-sync/protocol';
import type { EntityKey, Params, Tag } from './keys.js';
import type { ValueListener } from './server-subscriber.js';
import type { StandardSchemaV1 } from './standard-schema.js';
import type { ChangeTarget } from './targets.js';
import type { EntityDefinition } from './types.js';

/*
 * How an entity map (`createEntitySync<Entities>()`, see `EntityMap`) types a node's methods.
 * Each type falls back to the untyped signature when the node has no map, so untyped code
 * compiles exactly as before.
 */

export type { EntityMap, EntityNameOf, IsQuery, KeyOf, ParamsOf, ValueOf };

/**
 * The definition of entity `N` of map `E`: `fetch` returns its value (or `null`, `undefined`,
 * pre-serialized JSON, or a promise of one), `key.params` and `authorize`'s key are typed, and a
 * query entity must give the `params` schema whose output is its params type (an entity keyed by
 * id must not). With a `view`, `fetch` produces `F` (the view's parameter type) and the view
 * returns the value.
 */
export type TypedEntityDefinition<E, N extends EntityNameOf<E>, F = ValueOf<E[N]>> =
  IsQuery<E[N]> extends true
    ? Omit<EntityDefinition<ParamsOf<E[N]>, ValueOf<E[N]>, F, N>, 'params'> & {
        params: StandardSchemaV1<unknown, ParamsOf<E[N]>>;
      }
    : Omit<EntityDefinition<never, ValueOf<E[N]>, F, N>, 'params'> & { params?: undefined };

/** What `registerEntity` takes: the untyped definition without a map (`P` from its schema). */
export type DefinitionOf<E, N extends EntityNameOf<E>, P, F> =
  IsUntypedMap<E> extends true ? EntityDefinition<P> : TypedEntityDefinition<E, N, F>;

/** What `notifyAllOfChange` takes: a key of an entity of the map (a query one by id or by params), or a tag. */
export type ChangeTargetOf<E> =
  IsUntypedMap<E> extends true
    ? ChangeTarget
    :
        | Tag
        | {
            [N in EntityNameOf<E>]: IsQuery<E[N]> extends true
              ? { entity: N; params: ParamsOf<E[N]> } | { entity: N; id: string }
              : { entity: N; id: string };
          }[EntityNameOf<E>];

/** What server code's `subscribe` takes for entity `N`. */
export type SubscribeTargetOf<E, N extends EntityNameOf<E>> =
  IsUntypedMap<E> extends true ? EntityKey | { entity: string; params: Params } : KeyOf<E, N>;

/** What server code's `subscribe` listener gets for entity `N`: its value or `null`. */
export type ValueListenerOf<E, N extends EntityNameOf<E>> =
  IsUntypedMap<E> extends true ? ValueListener : (value: ValueOf<E[N]> | null, key: EntityKey<N>) => void;

import type { Params } from './params.js';

/**
 * Maps each entity type name to the type of its value, e.g. `{ items: Item }`, or for a query
 * entity to `{ params; value }`, e.g. `{ todoList: { params: { owner: string }; value: Todo[] } }`.
 * Declared once as a type and shared by the server (`createEntitySync<Entities>()`), the client
 * (`createClient<Entities>()`) and the React hooks (`createEntityHooks<Entities>()`). Values are
 * what the client receives: the fetch handler's value (or its view's) after a JSON round trip.
 * This type is the default: without a map, any name is accepted and values are `unknown`.
 */
export type EntityMap = Record<string, unknown>;

/** How a query entity is written in an entity map. */
export interface QuerySpec {
  /** The params of its keys: a JSON object (declared with `type`, not `interface`). */
  params: Record<string, unknown>;
  value: unknown;
}

/** The names of an entity map, as strings. */
export type EntityNameOf<E> = keyof E & string;

/** `true` for a map that names no entity in particular (the untyped default, `EntityMap`). */
export type IsUntypedMap<E> = string extends keyof E ? true : false;

/** Whether an entity map entry is a query (`{ params; value }`); `never` is not. */
export type IsQuery<T> = [T] extends [never] ? false : [T] extends [QuerySpec] ? true : false;

/** The value type of an entity map entry. */
export type ValueOf<T> = IsQuery<T> extends true ? (T extends QuerySpec ? T['value'] : never) : T;

/** The params type of an entity map entry; `never` for an entity keyed by id. */
export type ParamsOf<T> = IsQuery<T> extends true ? (T extends QuerySpec ? T['params'] : never) : never;

/** The names of the entities of `E` keyed by id (not queries). */
export type IdEntityNameOf<E> = { [N in EntityNameOf<E>]: IsQuery<E[N]> extends true ? never : N }[EntityNameOf<E>];

/** The names of the query entities of `E`. */
export type QueryEntityNameOf<E> = Exclude<EntityNameOf<E>, IdEntityNameOf<E>>;

/**
 * The key of entity `N`: `{ entity, params }` for a query entity, else `{ entity, id }`. Without a
 * map, either form.
 */
export type KeyOf<E, N extends EntityNameOf<E>> =
  IsUntypedMap<E> extends true
    ? { entity: N; id: string } | { entity: N; params: Params }
    : IsQuery<E[N]> extends true
      ? { entity: N; params: ParamsOf<E[N]> }
      : { entity: N; id: string };

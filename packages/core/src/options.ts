import { z } from 'zod';
import { type Broker, isBroker } from './broker.js';
import { EntitySyncError } from './errors.js';
import { isStandardSchema, type StandardSchemaV1 } from './standard-schema.js';
import type { EntityDefinition, ErrorHandler, IdentifyHandler, Logger, PassThroughHandler, ViewHandler } from './types.js';

/** Options of {@link createEntitySync}. Every field is optional. */
export interface EntitySyncOptions {
  /** The bus between nodes. @default a new `MemoryBroker` (a single node) */
  broker?: Broker;
  /** Bus subject prefix; nodes of one cluster must share it. @default 'entity-sync' */
  prefix?: string;
  /** A fetch that has not settled by then fails with `FETCH_TIMEOUT`. @default 5000 */
  fetchTimeoutMs?: number;
  /** Fetches running at once on this node, across all keys. @default 64 */
  maxConcurrentFetches?: number;
  /**
   * How long `notifyAllOfChange` and a subscribe wait for the bus before failing
   * (`PUBLISH_FAILED`, `UNAVAILABLE`). @default 5000
   */
  busTimeoutMs?: number;
  /** Publishes held while the bus is down; past it `notifyAllOfChange` rejects. @default 10000 */
  maxBufferedPublishes?: number;
  /** How long `close()` waits for in-flight fetches. @default 5000 */
  closeTimeoutMs?: number;
  /** This node's id on the bus, to skip its own echoes. @default a random UUID */
  nodeId?: string;
  /**
   * v1: a value whose bytes equal the last value sent to that connection for that key is not
   * sent again. Legacy mode always sends, as the Go library did. @default true
   */
  skipUnchanged?: boolean;
  /**
   * How long the latest value fetched per (key, group) is kept after it was fetched or last
   * served, so a storm of clients
   * (re)subscribing costs one fetch per distinct (key, group): a key whose last subscriber left
   * stays subscribed on the bus this long, and a change of it drops its values at once. `0` turns
   * it off. @default 2000
   */
  resumeCacheMs?: number;
  /** At most this many (key, group) values in that cache; the oldest go first. @default 10000 */
  resumeCacheSize?: number;
  /**
   * v1 delta frames: to a connection that asked for them (`"deltas": true` on a subscribe), a
   * changed value goes as a diff from the value the client holds when its JSON has at least
   * `minBytes` characters and the delta frame is at most `maxRatio` of the `data` frame's length.
   * Computed once per (key, group) per fetch; keeps the last value of each (key, group) while it
   * has subscribers. `true`: the defaults. @default false
   */
  deltas?: boolean | { minBytes?: number; maxRatio?: number };
  /** Subscriptions one connection may hold; more get `TOO_MANY_SUBSCRIPTIONS`. @default 1000 */
  maxSubscriptionsPerConnection?: number;
  /**
   * Messages a connection may send: a token bucket refilled at `perSecond`, holding at most
   * `burst`. A message past it is dropped: v1 gets `RATE_LIMITED` (with its ref), legacy nothing.
   * `false` turns it off. @default { perSecond: 100, burst: 200 }
   */
  rateLimit?: { perSecond: number; burst: number } | false;
  /**
   * Backpressure: over this many bytes buffered for a connection, values wait and a newer value
   * for a key replaces the waiting one, so a slow client gets the latest state, not a backlog.
   * @default 1048576 (1 MiB)
   */
  highWaterMark?: number;
  /** Past this many bytes buffered for a connection, it is closed with 4008. @default 16777216 (16 MiB) */
  maxBufferedBytes?: number;
  /** Past this long over `highWaterMark`, a connection is closed with 4008. @default 30000 */
  maxSlowMs?: number;
  /** Receives client messages without an `action` (the Go library's pass-through); may reply. */
  onPassThrough?: PassThroughHandler;
  /**
   * Turns a connection's secret into a user, once per secret change (not per fetch): its answer
   * is `ctx.user` in `fetch`, `authorize` and views, and scope `user` fetches once per user.
   * @default none: every connection is anonymous (`ctx.user` is `null`)
   */
  identify?: IdentifyHandler;
  /** One sink for all logs. @default silent */
  logger?: Logger;
  /** Every background failure and every handler error, with its context. */
  onError?: ErrorHandler;
}

const positiveInt = z.number().int().positive();

/** `deltas: true`: values of at least 4 KiB of JSON, when the delta is at most half the frame. */
const DELTA_DEFAULTS = { minBytes: 4096, maxRatio: 0.5 } as const;

/** An optional function option, named in the error when it is something else. */
function fn<T>(name: string) {
  return z.custom<T>((v) => typeof v === 'function', `Expected \`${name}\` to be a function`).optional();
}

const OptionsSchema = z.object({
  broker: z.custom<Broker>(isBroker, 'Expected `broker` to have a connect() method').optional(),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'Expected `prefix` to be dot-separated [A-Za-z0-9_-] tokens')
    .default('entity-sync'),
  fetchTimeoutMs: positiveInt.default(5_000),
  maxConcurrentFetches: positiveInt.default(64),
  busTimeoutMs: positiveInt.default(5_000),
  maxBufferedPublishes: z.number().int().nonnegative().default(10_000),
  closeTimeoutMs: z.number().int().nonnegative().default(5_000),
  nodeId: z.string().min(1).optional(),
  skipUnchanged: z.boolean().default(true),
  resumeCacheMs: z.number().int().nonnegative().default(2_000),
  resumeCacheSize: z.number().int().nonnegative().default(10_000),
  deltas: z
    .union([
      z.boolean(),
      z.strictObject({
        minBytes: z.number().int().nonnegative().default(DELTA_DEFAULTS.minBytes),
        maxRatio: z.number().positive().max(1).default(DELTA_DEFAULTS.maxRatio),
      }),
    ])
    .default(false)
    .transform((v) => (v === true ? DELTA_DEFAULTS : v)),
  maxSubscriptionsPerConnection: positiveInt.default(1000),
  rateLimit: z
    .union([z.literal(false), z.object({ perSecond: z.number().positive(), burst: z.number().int().positive() })])
    .default({ perSecond: 100, burst: 200 }),
  highWaterMark: positiveInt.default(1024 * 1024),
  maxBufferedBytes: positiveInt.default(16 * 1024 * 1024),
  maxSlowMs: positiveInt.default(30_000),
  onPassThrough: fn<PassThroughHandler>('onPassThrough'),
  identify: fn<IdentifyHandler>('identify'),
  logger: fn<Logger>('logger'),
  onError: fn<ErrorHandler>('onError'),
});

export type ResolvedOptions = z.infer<typeof OptionsSchema>;

export function parseOptions(input: unknown): ResolvedOptions {
  return parseWith(OptionsSchema, input ?? {}, 'createEntitySync');
}

const EntitySchema = z.object({
  fetch: z.custom<EntityDefinition['fetch']>((v) => typeof v === 'function', 'Expected `fetch` to be a function'),
  scope: z.enum(['client', 'secret', 'user', 'shared']).optional(),
  authorize: fn<NonNullable<EntityDefinition['authorize']>>('authorize'),
  params: z.custom<StandardSchemaV1>(isStandardSchema, 'Expected `params` to be a Standard Schema (zod, valibot, arktype)').optional(),
  view: fn<ViewHandler>('view'),
  viewBy: z.enum(['user', 'secret']).optional(),
  redact: z.array(z.string().min(1)).readonly().optional(),
});

export type ResolvedEntity = Omit<z.infer<typeof EntitySchema>, 'scope' | 'viewBy'> & {
  scope: 'client' | 'secret' | 'user' | 'shared';
  viewBy: 'user' | 'secret';
};

/** Validates an entity definition; `identified` tells whether the node has `identify`. */
export function parseEntity(name: string, input: unknown, identified: boolean): ResolvedEntity {
  const where = `registerEntity('${name}')`;
  const entity = parseWith(EntitySchema, input, where);
  if (entity.view !== undefined && entity.scope !== undefined && entity.scope !== 'shared') {
    throw new EntitySyncError(
      'INVALID_OPTIONS',
      `${where}: an entity with a \`view\` fetches once per node (scope 'shared'), not per ${entity.scope}`,
    );
  }
  const viewBy = entity.viewBy ?? (identified ? 'user' : 'secret');
  if (!identified && (viewBy === 'user' || entity.scope === 'user') && (entity.view !== undefined || entity.scope === 'user')) {
    throw new EntitySyncError('INVALID_OPTIONS', `${where}: scope or viewBy 'user' needs the node's \`identify\` option`);
  }
  return { ...entity, scope: entity.scope ?? (entity.view === undefined ? 'client' : 'shared'), viewBy };
}

/** Validates `input` against `schema` or throws `INVALID_OPTIONS` with a readable message. */
export function parseWith<T extends z.ZodType>(schema: T, input: unknown, where: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new EntitySyncError('INVALID_OPTIONS', `${where}: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}

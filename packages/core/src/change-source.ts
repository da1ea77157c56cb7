import { z } from 'zod';
import { EntitySyncError } from './errors.js';
import type { EntityKey, Tag } from './keys.js';
import { targetId, toTarget } from './targets.js';

/** A row as the source decoded it: column name to value. */
export type SourceRow = Record<string, unknown>;

/**
 * Turns one committed row change into the keys it touches. `row` holds the new values (`null`
 * on a delete), `old` the old values (`null` on an insert; on an update only what the database
 * logs). On an update the source also calls it as `fn(null, old)`, so a row that moves (its
 * owner changes) notifies the old place as well as the new one.
 */
export type RowKeysFunction = (row: SourceRow | null, old: SourceRow | null) => Iterable<EntityKey | Tag> | null | undefined;

/**
 * Table name to its function. Each source documents how it spells names (`public.todos`,
 * `shop.orders`); they are taken as written, without quotes.
 */
export type SourceTables = Record<string, RowKeysFunction>;

/** One committed row change, as a stream hands it to {@link ChangeSink.commit}. */
export interface RowChange {
  table: string;
  row: SourceRow | null;
  old: SourceRow | null;
}

/** Where a source problem happened, passed to `onError`. */
export interface ChangeSourceErrorContext {
  table?: string;
}

/** Options every change source takes (`createPostgresSource`, `createMysqlSource`, ...). */
export interface ChangeSourceOptions {
  /** Which tables to watch and how their rows map to keys. At least one. */
  tables: SourceTables;
  /**
   * How long a standing-by node waits before it tries to take the stream again, and a follower
   * that lost its stream waits before it reconnects. Takeover after the follower dies takes at
   * most about this long plus the time the database needs to notice.
   * @default 2000
   */
  retryMs?: number;
  /**
   * Every problem that does not stop the source: a key function that threw or returned a bad
   * key (`INTERNAL` / `INVALID_KEY`, the change's other keys are still notified), a failed
   * publish (`PUBLISH_FAILED`, retried until the bus accepts), a lost stream (`UNAVAILABLE`,
   * reconnected after `retryMs`). Default: one `process.emitWarning` per code and table.
   */
  onError?: (error: EntitySyncError, ctx: ChangeSourceErrorContext) => void;
}

/** What a change source needs of a node: the two ways to tell the cluster about changes. */
export interface ChangeSourceTarget {
  notifyAllOfChange(targets: EntityKey | Tag | readonly (EntityKey | Tag)[]): Promise<void>;
  resyncAll(): Promise<void>;
}

/** This node's part in following the stream. */
export type ChangeSourceRole = 'idle' | 'following' | 'standby' | 'closed';

/** A running change source: what `createPostgresSource` and `createMysqlSource` return. */
export interface ChangeSource {
  /**
   * Resolves once this node follows the stream or stands by because another node does.
   * Rejects (and leaves the source idle) when the first attempt fails, e.g. bad credentials.
   */
  start(): Promise<void>;
  /** Stops following (releasing the stream to another node) or standing by. Idempotent. */
  close(): Promise<void>;
  /** `following` while this node holds the stream, `standby` while another does. */
  readonly role: ChangeSourceRole;
}

/** What a stream driver gets: where to put changes, and how to report. */
export interface ChangeSink {
  /**
   * One committed transaction. Resolves once the bus accepted every key it touches (retrying
   * a failed publish); only then may the driver acknowledge its position. Rejects only when
   * the source is closing.
   */
  commit(changes: readonly RowChange[]): Promise<void>;
  /**
   * The driver cannot prove it missed nothing (a lost notify stream, a dropped slot, a new
   * binlog follower): every node refetches every key it holds. Resolves once accepted.
   */
  gap(reason: string): Promise<void>;
  /** Reports a problem that does not stop the stream. */
  report(error: EntitySyncError, ctx?: ChangeSourceErrorContext): void;
  /** The configured table names. */
  readonly tables: readonly string[];
  /** Aborted when the source closes. */
  readonly signal: AbortSignal;
}

/** A stream this node follows; see {@link ChangeStreamDriver.follow}. */
export interface FollowedStream {
  /** Resolves after `stop()`; rejects with the cause when the stream is lost. */
  readonly ended: Promise<void>;
  /** Stops following and releases the stream (the slot, the lock) to other nodes. */
  stop(): Promise<void>;
}

/**
 * The database-specific half of a change source: one file per database. Everything else
 * (keys, de-duplication, publishing, acknowledging after the bus accepted, standby and
 * takeover, resync after gaps) is {@link createChangeSource}'s.
 */
export interface ChangeStreamDriver {
  /** The factory's name, for messages: `createPostgresSource`. */
  readonly name: string;
  /**
   * Tries once to become the cluster's follower. Resolves to the stream, or to `undefined`
   * when another node holds it (this node stands by). Rejects when the database cannot be
   * reached or refuses.
   */
  follow(sink: ChangeSink): Promise<FollowedStream | undefined>;
}

const Options = z.object({
  tables: z
    .record(
      z.string(),
      z.custom<RowKeysFunction>((v) => typeof v === 'function', 'expected a function (row, old) => keys'),
    )
    .refine((tables) => Object.keys(tables).length > 0, 'name at least one table')
    .refine((tables) => !('' in tables), 'a table name is not empty'),
  retryMs: z.number().int().positive().default(2_000),
  onError: z.custom<ChangeSourceOptions['onError']>((v) => v === undefined || typeof v === 'function').optional(),
});

type ResolvedOptions = z.infer<typeof Options>;

/** Validates the options every source shares; throws `INVALID_OPTIONS` naming the source. */
export function parseChangeSourceOptions(name: string, input: unknown): ResolvedOptions {
  const result = Options.safeParse(input);
  if (!result.success) throw new EntitySyncError('INVALID_OPTIONS', `${name}: ${z.prettifyError(result.error)}`);
  return result.data;
}

/**
 * Builds a change source from a database's stream driver: the shared machinery behind every
 * source. `options` are validated here (`INVALID_OPTIONS`).
 */
export function createChangeSource(target: ChangeSourceTarget, options: ChangeSourceOptions, driver: ChangeStreamDriver): ChangeSource {
  return new ChangeSourceRunner(target, parseChangeSourceOptions(driver.name, options), driver);
}

class ChangeSourceRunner implements ChangeSource, ChangeSink {
  readonly tables: readonly string[];
  readonly #functions: Map<string, RowKeysFunction>;
  readonly #abort = new AbortController();
  readonly #warned = new Set<string>();
  #role: ChangeSourceRole = 'idle';
  #stream: FollowedStream | undefined;
  #started: Promise<void> | undefined;
  #loop: Promise<void> | undefined;

  constructor(
    private readonly target: ChangeSourceTarget,
    private readonly options: ResolvedOptions,
    private readonly driver: ChangeStreamDriver,
  ) {
    this.#functions = new Map(Object.entries(options.tables));
    this.tables = [...this.#functions.keys()];
  }

  get role(): ChangeSourceRole {
    return this.#role;
  }

  /** Read after each `await` (a getter, so TypeScript does not narrow the check away). */
  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  start(): Promise<void> {
    if (this.closed) return Promise.reject(new EntitySyncError('CLOSED', `${this.driver.name}: closed`));
    this.#started ??= this.#attempt().then(
      () => {
        this.#loop = this.#run();
      },
      (error: unknown) => {
        this.#started = undefined;
        throw EntitySyncError.from(error, 'UNAVAILABLE');
      },
    );
    return this.#started;
  }

  async close(): Promise<void> {
    if (this.closed) return this.#loop;
    this.#abort.abort();
    this.#role = 'closed';
    await this.#started?.catch(() => {});
    await this.#stream?.stop().catch(() => {});
    await this.#loop;
  }

  // Leadership ------------------------------------------------------------------------------

  /** One try at the stream: following, or standing by. */
  async #attempt(): Promise<void> {
    const stream = await this.driver.follow(this);
    if (this.closed) {
      await stream?.stop();
      return;
    }
    this.#stream = stream;
    this.#role = stream ? 'following' : 'standby';
  }

  /** Follows until the stream ends, then waits and tries again, until closed. */
  async #run(): Promise<void> {
    while (!this.closed) {
      if (this.#stream !== undefined) await this.#followUntilLost(this.#stream);
      if (this.closed) return;
      await sleep(this.options.retryMs, this.signal);
      if (this.closed) return;
      await this.#attempt().catch((error: unknown) => {
        if (!this.closed) this.#role = 'standby';
        this.report(EntitySyncError.from(error, 'UNAVAILABLE'));
      });
    }
  }

  async #followUntilLost(stream: FollowedStream): Promise<void> {
    try {
      await stream.ended;
    } catch (error) {
      if (!this.closed) this.report(lost(this.driver.name, error));
    }
    this.#stream = undefined;
    if (!this.closed) this.#role = 'standby';
  }

  // Changes ---------------------------------------------------------------------------------

  async commit(changes: readonly RowChange[]): Promise<void> {
    const keys = new Map<string, EntityKey | Tag>();
    for (const change of changes) this.#collect(change, keys);
    if (keys.size > 0) await this.#notify([...keys.values()]);
  }

  async gap(reason: string): Promise<void> {
    await this.#retry(() => this.target.resyncAll(), `resync after ${reason}`);
  }

  report(error: EntitySyncError, ctx: ChangeSourceErrorContext = {}): void {
    const { onError } = this.options;
    try {
      if (onError) onError(error, ctx);
      else this.#warnOnce(error, ctx);
    } catch {
      // A throwing onError must not stop the stream.
    }
  }

  /** The one way keys and tags leave a source. */
  #notify(keys: readonly (EntityKey | Tag)[]): Promise<void> {
    return this.#retry(() => this.target.notifyAllOfChange(keys), 'notify');
  }

  #collect(change: RowChange, into: Map<string, EntityKey | Tag>): void {
    const fn = this.#functions.get(change.table);
    if (fn === undefined) return;
    this.#keysOf(fn, change.table, change.row, change.old, into);
    if (change.row !== null && change.old !== null) this.#keysOf(fn, change.table, null, change.old, into);
  }

  #keysOf(fn: RowKeysFunction, table: string, row: SourceRow | null, old: SourceRow | null, into: Map<string, EntityKey | Tag>): void {
    let keys: Iterable<EntityKey | Tag> | null | undefined;
    try {
      keys = fn(row, old);
    } catch (error) {
      this.report(new EntitySyncError('INTERNAL', `${this.driver.name}: the key function of ${table} threw`, { cause: error }), {
        table,
      });
      return;
    }
    for (const key of keys ?? []) {
      const target = toTarget(key);
      if (target instanceof EntitySyncError) {
        this.report(new EntitySyncError('INVALID_KEY', `${this.driver.name}: ${table} gave a bad key: ${target.message}`), { table });
      } else {
        into.set(targetId(target), target);
      }
    }
  }

  /** Calls `publish` until the bus accepts it; rejects only when the source closes. */
  async #retry(publish: () => Promise<void>, what: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.signal.throwIfAborted();
      try {
        return await publish();
      } catch (error) {
        const failure = EntitySyncError.from(error, 'PUBLISH_FAILED');
        if (failure.code === 'CLOSED') {
          void this.close(); // the node is gone: stop following, so another node takes over
          throw failure;
        }
        this.report(
          new EntitySyncError(failure.code, `${this.driver.name}: ${what} failed, retrying: ${failure.message}`, { cause: error }),
        );
        await sleep(Math.min(100 * 2 ** attempt, 5_000), this.signal);
      }
    }
  }

  #warnOnce(error: EntitySyncError, ctx: ChangeSourceErrorContext): void {
    const id = `${error.code}:${ctx.table ?? ''}`;
    if (this.#warned.has(id)) return;
    this.#warned.add(id);
    process.emitWarning(`${error.message} (further ${error.code} errors are not shown; pass onError)`, 'EntitySyncWarning');
  }
}

function lost(name: string, error: unknown): EntitySyncError {
  const message = error instanceof Error ? error.message : String(error);
  return new EntitySyncError('UNAVAILABLE', `${name}: lost the stream: ${message}`, { cause: error });
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done);
  });
}

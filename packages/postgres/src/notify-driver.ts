import {
  type ChangeSink,
  type ChangeStreamDriver,
  EntitySyncError,
  type FollowedStream,
  type RowChange,
  type SourceTables,
} from '@entity-sync/core';
import pg from 'pg';
import type { ResolvedPostgresOptions } from './options.js';
import { withClient } from './replication-driver.js';
import { configuredNames } from './sql.js';
import { columnsFor, installTriggers } from './triggers.js';

/** What the trigger sends. */
interface Payload {
  t: string;
  x: number;
  op: 'insert' | 'update' | 'delete' | 'truncate' | 'overflow';
  new?: Record<string, unknown> | null;
  old?: Record<string, unknown> | null;
}

/**
 * Notify mode: triggers send `pg_notify` messages and the follower `LISTEN`s. The follower is
 * whoever holds a session-level advisory lock on its `LISTEN` session (released when the
 * session dies). `NOTIFY` is not durable, so every new session starts with a resync.
 */
export class NotifyDriver implements ChangeStreamDriver {
  readonly name = 'createPostgresSource';
  #installed = false;

  constructor(
    private readonly options: ResolvedPostgresOptions,
    private readonly tables: SourceTables,
  ) {}

  async follow(sink: ChangeSink): Promise<FollowedStream | undefined> {
    if (!this.#installed) await this.#install();
    const client = new pg.Client({ ...this.options.connection, keepAlive: true });
    client.on('error', () => {}); // reported through `ended`
    await client.connect();
    try {
      const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS ok', [
        `entity_sync:${this.options.channel}`,
      ]);
      if (!lock.rows[0]?.ok) {
        await client.end();
        return undefined;
      }
      const stream = new NotifyStream(client, sink);
      await client.query(`LISTEN ${this.options.channel}`);
      await sink.gap('a new LISTEN session (NOTIFY is not durable)');
      return stream;
    } catch (error) {
      await client.end().catch(() => {});
      throw error;
    }
  }

  async #install(): Promise<void> {
    const { connection, channel, columns } = this.options;
    await withClient(connection, async (client) => {
      for (const [table, fn] of Object.entries(this.tables)) {
        await installTriggers(client, table, channel, await columnsFor(client, table, fn, columns[table]));
      }
    });
    this.#installed = true;
  }
}

/** One `LISTEN` session: groups notifications by transaction id and hands each group on. */
class NotifyStream implements FollowedStream {
  readonly ended: Promise<void>;
  readonly #names: Map<string, string>;
  readonly #queue: Payload[][] = [];
  #open: Payload[] = [];
  #received = 0;
  #flushTimer: NodeJS.Timeout | undefined;
  #draining = false;
  #stopping = false;
  #end!: (error?: unknown) => void;

  constructor(
    private readonly client: pg.Client,
    private readonly sink: ChangeSink,
  ) {
    this.#names = configuredNames(sink.tables);
    this.ended = new Promise((resolve, reject) => {
      this.#end = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.ended.catch(() => {});
    client.on('notification', (message) => this.#onNotification(message.payload));
    client.on('error', (error) => this.#end(error));
    client.on('end', () => this.#end(this.#stopping ? undefined : new Error('the LISTEN session ended')));
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#flushTimer);
    await this.client.end().catch(() => {});
    this.#end();
  }

  #onNotification(text: string | undefined): void {
    let payload: Payload;
    try {
      payload = JSON.parse(text ?? '') as Payload;
    } catch (error) {
      this.sink.report(new EntitySyncError('INTERNAL', 'createPostgresSource: a notification is not JSON', { cause: error }));
      return;
    }
    const last = this.#open[this.#open.length - 1];
    if (last !== undefined && last.x !== payload.x) this.#flush();
    this.#open.push(payload);
    this.#received++;
    this.#flushTimer ??= this.#idleFlush(this.#received);
  }

  /**
   * A transaction's notifications arrive back to back (Postgres serializes notifying commits),
   * possibly over several socket reads: its group ends when the next transaction starts, or
   * after a millisecond without notifications.
   */
  #idleFlush(seen: number): NodeJS.Timeout {
    return setTimeout(() => {
      this.#flushTimer = undefined;
      if (this.#received === seen) this.#flush();
      else this.#flushTimer = this.#idleFlush(this.#received);
    }, 1);
  }

  #flush(): void {
    if (this.#open.length === 0) return;
    this.#queue.push(this.#open);
    this.#open = [];
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let group = this.#queue.shift(); group !== undefined && !this.#stopping; group = this.#queue.shift()) {
        await this.#handle(group);
      }
    } catch {
      // Only a closing source rejects.
    } finally {
      this.#draining = false;
    }
  }

  async #handle(group: Payload[]): Promise<void> {
    const changes: RowChange[] = [];
    for (const payload of group) {
      const table = this.#names.get(payload.t);
      if (table === undefined) continue;
      if (payload.op === 'overflow' || payload.op === 'truncate') {
        const why = payload.op === 'overflow' ? 'a NOTIFY payload over 8000 bytes' : 'a TRUNCATE';
        await this.sink.gap(`${why} on ${table}`);
        continue;
      }
      changes.push({ table, row: payload.new ?? null, old: payload.old ?? null });
    }
    await this.sink.commit(changes);
  }
}

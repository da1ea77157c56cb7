import {
  type ChangeSink,
  type ChangeStreamDriver,
  EntitySyncError,
  type FollowedStream,
  type RowChange,
  type SourceRow,
} from '@entity-sync/core';
import ZongJi, { type AnyBinlogEvent, type TableMapEntry } from '@vlasky/zongji';
import mysql from 'mysql2/promise';
import type { ResolvedMysqlOptions } from './options.js';

/** Transactions waiting for the bus before the binlog socket is paused. */
const HIGH_WATER = 1_000;
const LOW_WATER = 100;

type Connection = mysql.Connection;

/** `t` is `<connection database>.t`; `shop.t` is table `t` of database `shop`. */
function qualify(configured: string, database: string): { database: string; table: string } {
  const dot = configured.indexOf('.');
  return dot < 0 ? { database, table: configured } : { database: configured.slice(0, dot), table: configured.slice(dot + 1) };
}

/**
 * The binlog follower: whoever holds the `GET_LOCK` named lock (released by the server when
 * its session ends, so a killed follower frees it). The binlog position is not stored, so a
 * new follower starts at the end of the binlog and resyncs the cluster: whatever was committed
 * while no node followed is fetched again.
 */
export class BinlogDriver implements ChangeStreamDriver {
  readonly name = 'createMysqlSource';

  constructor(private readonly options: ResolvedMysqlOptions) {}

  async follow(sink: ChangeSink): Promise<FollowedStream | undefined> {
    const lock = await mysql.createConnection(this.options.connection);
    lock.on('error', () => {}); // reported through the stream's `ended`
    try {
      await checkServer(lock, sink);
      const [rows] = await lock.query('SELECT GET_LOCK(?, 0) AS got, DATABASE() AS db', [this.options.lock]);
      const [row] = rows as { got: number | null; db: string | null }[];
      if (row?.got !== 1) {
        await lock.end();
        return undefined;
      }
      return await BinlogStream.open(this.options, lock, row.db ?? '', sink);
    } catch (error) {
      lock.destroy();
      throw error;
    }
  }
}

/**
 * The source needs a row binlog: `log_bin=ON`, `binlog_format=ROW`. With a `binlog_row_image`
 * other than `FULL`, old rows lack the columns a key function may read (reported).
 */
async function checkServer(connection: Connection, sink: ChangeSink): Promise<void> {
  const [rows] = await connection.query('SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image');
  const [row] = rows as { logBin: number; format: string; image: string }[];
  if (row?.logBin !== 1 || row.format !== 'ROW') {
    const settings = `log_bin=${row?.logBin ? 'ON' : 'OFF'}, binlog_format=${row?.format}`;
    throw new EntitySyncError(
      'UNAVAILABLE',
      `createMysqlSource: the server runs with ${settings}; it needs log_bin=ON and binlog_format=ROW`,
    );
  }
  if (row.image !== 'FULL') {
    const message = `createMysqlSource: binlog_row_image=${row.image}: old rows carry only some columns; set it to FULL`;
    sink.report(new EntitySyncError('INVALID_OPTIONS', message));
  }
}

/** One binlog dump from the end of the binlog; commits handed to the sink in order. */
class BinlogStream implements FollowedStream {
  readonly ended: Promise<void>;
  readonly #names = new Map<string, string>();
  readonly #queue: RowChange[][] = [];
  readonly #zongji: ZongJi;
  #open: RowChange[] = [];
  #draining = false;
  #paused = false;
  #stopping = false;
  #end!: (error?: unknown) => void;

  private constructor(
    options: ResolvedMysqlOptions,
    private readonly lock: Connection,
    database: string,
    private readonly sink: ChangeSink,
  ) {
    for (const configured of sink.tables) {
      const { database: db, table } = qualify(configured, database);
      this.#names.set(`${db}.${table}`, configured);
    }
    this.ended = new Promise((resolve, reject) => {
      this.#end = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.ended.catch(() => {});
    this.#zongji = new ZongJi(options.connection);
    lock.on('end', () => this.#lost(new Error('the session holding the leader lock ended')));
    lock.on('error', (error) => this.#lost(error));
  }

  static async open(options: ResolvedMysqlOptions, lock: Connection, database: string, sink: ChangeSink): Promise<BinlogStream> {
    const stream = new BinlogStream(options, lock, database, sink);
    await stream.#start(options.serverId);
    await sink.gap('a new binlog follower (the binlog position is not kept)');
    return stream;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#zongji.stop();
    await this.lock.end().catch(() => this.lock.destroy());
    this.#end();
  }

  #start(serverId: number): Promise<void> {
    const zongji = this.#zongji;
    const ready = new Promise<void>((resolve, reject) => {
      zongji.once('ready', resolve);
      zongji.once('error', reject);
    });
    zongji.on('binlog', (event: AnyBinlogEvent) => this.#onEvent(event));
    zongji.on('error', (error: Error) => this.#lost(error));
    const includeSchema: Record<string, string[]> = {};
    for (const name of this.#names.keys()) {
      const [db = '', table = ''] = name.split(/\.(.*)/s);
      (includeSchema[db] ??= []).push(table);
    }
    zongji.start({
      serverId,
      startAtEnd: true,
      includeEvents: ['tablemap', 'writerows', 'updaterows', 'deleterows', 'xid', 'query'],
      includeSchema,
    });
    return ready.catch((error: unknown) => {
      zongji.stop();
      throw error;
    });
  }

  #lost(error: unknown): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#zongji.stop();
    this.lock.destroy();
    this.#end(error);
  }

  #onEvent(event: AnyBinlogEvent): void {
    switch (event.getEventName()) {
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        this.#addRows(event as RowsEventLike);
        break;
      case 'xid':
        this.#commit();
        break;
      case 'query':
        this.#onQuery((event as { query: string }).query);
        break;
      default:
        break;
    }
  }

  #addRows(event: RowsEventLike): void {
    const entry: TableMapEntry | undefined = event.tableMap[event.tableId];
    const table = entry && this.#names.get(`${entry.parentSchema}.${entry.tableName}`);
    if (table === undefined) return;
    const kind = event.getEventName();
    for (const row of event.rows) {
      if (kind === 'writerows') this.#open.push({ table, row: row as SourceRow, old: null });
      else if (kind === 'deleterows') this.#open.push({ table, row: null, old: row as SourceRow });
      else {
        const { before, after } = row as { before: SourceRow; after: SourceRow };
        this.#open.push({ table, row: after, old: before });
      }
    }
  }

  /** `COMMIT` ends a non-transactional group; a `TRUNCATE` of a table cannot be mapped to keys. */
  #onQuery(query: string): void {
    if (/^\s*COMMIT\b/i.test(query)) this.#commit();
    else if (/^\s*TRUNCATE\b/i.test(query)) void this.sink.gap('a TRUNCATE').catch(() => {});
  }

  #commit(): void {
    if (this.#open.length === 0) return;
    this.#queue.push(this.#open);
    this.#open = [];
    if (this.#queue.length >= HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.#zongji.connection?.pause();
    }
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      for (let tx = this.#queue.shift(); tx !== undefined && !this.#stopping; tx = this.#queue.shift()) {
        await this.sink.commit(tx);
        if (this.#paused && this.#queue.length <= LOW_WATER) {
          this.#paused = false;
          this.#zongji.connection?.resume();
        }
      }
    } catch {
      // Only a closing source rejects.
    } finally {
      this.#draining = false;
    }
  }
}

interface RowsEventLike {
  tableId: number;
  tableMap: Record<number, TableMapEntry>;
  rows: unknown[];
  getEventName(): string;
}

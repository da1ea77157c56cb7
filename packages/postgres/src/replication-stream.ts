import type { ChangeSink, FollowedStream, RowChange, SourceRow } from '@entity-sync/core';
import pg from 'pg';
import { type Pgoutput, PgoutputPlugin } from 'pg-logical-replication';
import { configuredNames } from './sql.js';

/** Transactions waiting for the bus before the socket is paused. */
const HIGH_WATER = 1_000;
const LOW_WATER = 100;
/** Rows handed to the sink at once when transactions queue up. */
const MAX_BATCH_ROWS = 5_000;

interface Transaction {
  changes: RowChange[];
  /** End of the commit record: acknowledged once the bus accepted the changes. */
  lsn: bigint;
  truncated: boolean;
}

/** The part of pg's internal connection the stream talks to (the copy-both sub-protocol). */
interface CopyConnection {
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  once(event: 'replicationStart', listener: () => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  stream: { pause(): void; resume(): void };
}

/** `0/16B3748` as a number. */
export function parseLsn(lsn: string): bigint {
  const [high = '0', low = '0'] = lsn.split('/');
  return (BigInt(`0x${high}`) << 32n) | BigInt(`0x${low}`);
}

function rowChange(table: string, row: SourceRow | null, old: SourceRow | null): RowChange {
  return { table, row, old };
}

/**
 * One `START_REPLICATION` session on a logical slot: decodes pgoutput, hands each committed
 * transaction to the sink in commit order, and acknowledges a commit's LSN only after the sink
 * resolved (so an unacknowledged transaction is streamed again to the next follower).
 */
export class ReplicationStream implements FollowedStream {
  readonly ended: Promise<void>;
  readonly #plugin: PgoutputPlugin;
  readonly #names: Map<string, string>;
  readonly #queue: Transaction[] = [];
  #open: Transaction | undefined;
  #acked = 0n;
  #draining = false;
  #paused = false;
  #stopping = false;
  #end!: (error?: unknown) => void;

  private constructor(
    private readonly client: pg.Client,
    private readonly connection: CopyConnection,
    private readonly sink: ChangeSink,
    publication: string,
  ) {
    this.#plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [publication] });
    this.#names = configuredNames(sink.tables);
    this.ended = new Promise((resolve, reject) => {
      this.#end = (error) => (error === undefined ? resolve() : reject(error));
    });
    this.ended.catch(() => {});
  }

  /**
   * Opens a replication session and starts streaming `slot`. Resolves to `undefined` when
   * another session holds the slot (Postgres answers `55006 object_in_use`).
   */
  static async open(config: pg.ClientConfig, slot: string, publication: string, sink: ChangeSink): Promise<ReplicationStream | undefined> {
    const client = new pg.Client({ ...config, replication: 'database', keepAlive: true } as pg.ClientConfig);
    client.on('error', () => {}); // surfaced through the query below and `ended`
    await client.connect();
    const connection = (client as unknown as { connection: CopyConnection }).connection;
    const stream = new ReplicationStream(client, connection, sink, publication);
    try {
      await stream.#start(slot);
      return stream;
    } catch (error) {
      await client.end().catch(() => {});
      if ((error as { code?: string }).code === '55006') return undefined;
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.client.end().catch(() => {});
    this.#end();
  }

  /** Resolves once the server switched to streaming; rejects if it refused. */
  #start(slot: string): Promise<void> {
    this.connection.on('copyData', ({ chunk }) => this.#onCopyData(chunk));
    const streaming = new Promise<void>((resolve) => this.connection.once('replicationStart', resolve));
    const query = this.#plugin.start(this.client, slot, '0/0') as Promise<unknown>;
    query.then(
      () => this.#end(this.#stopping ? undefined : new Error('the server ended the replication stream')),
      (error: unknown) => this.#end(this.#stopping ? undefined : error),
    );
    return Promise.race([streaming, query.then(() => Promise.reject(new Error('replication did not start')))]);
  }

  #onCopyData(chunk: Buffer): void {
    try {
      if (chunk[0] === 0x77) this.#onMessage(this.#plugin.parse(chunk.subarray(25)) as Pgoutput.Message);
      else if (chunk[0] === 0x6b) this.#onKeepalive(chunk.readBigUInt64BE(1), chunk[17] === 1);
    } catch (error) {
      // A message we cannot decode: give up this session; the next follower starts from the last ack.
      this.#end(error);
      this.client.end().catch(() => {});
    }
  }

  #onMessage(message: Pgoutput.Message): void {
    switch (message.tag) {
      case 'begin':
        this.#open = { changes: [], lsn: 0n, truncated: false };
        break;
      case 'insert':
        this.#add(message.relation, message.new, null);
        break;
      case 'update':
        this.#add(message.relation, message.new, message.old ?? message.key);
        break;
      case 'delete':
        this.#add(message.relation, null, message.old ?? message.key);
        break;
      case 'truncate':
        if (this.#open && message.relations.some((r) => this.#nameOf(r) !== undefined)) this.#open.truncated = true;
        break;
      case 'commit':
        this.#commit(message.commitEndLsn);
        break;
      default:
        break;
    }
  }

  #nameOf(relation: Pgoutput.MessageRelation): string | undefined {
    return this.#names.get(`${relation.schema}.${relation.name}`);
  }

  #add(relation: Pgoutput.MessageRelation, row: SourceRow | null, old: SourceRow | null): void {
    const table = this.#nameOf(relation);
    if (table !== undefined) this.#open?.changes.push(rowChange(table, row, old));
  }

  #commit(lsn: string | null): void {
    const transaction = this.#open;
    this.#open = undefined;
    if (transaction === undefined || lsn === null) return;
    transaction.lsn = parseLsn(lsn);
    this.#queue.push(transaction);
    if (this.#queue.length >= HIGH_WATER && !this.#paused) {
      this.#paused = true;
      this.connection.stream.pause();
    }
    void this.#drain();
  }

  /**
   * Hands queued transactions to the sink in commit order. Under load, the transactions that
   * queued up while the bus was busy go out as one batch (one notify, then one ack of the last).
   */
  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#queue.length > 0 && !this.#stopping) {
        const batch = this.#takeBatch();
        if (batch.some((tx) => tx.truncated)) await this.sink.gap('a TRUNCATE');
        await this.sink.commit(batch.length === 1 ? (batch[0]?.changes ?? []) : batch.flatMap((tx) => tx.changes));
        this.#acked = batch[batch.length - 1]?.lsn ?? this.#acked;
        if (this.#paused && this.#queue.length <= LOW_WATER) {
          this.#paused = false;
          this.connection.stream.resume();
        }
      }
      this.#sendStatus(false);
    } catch {
      // Only a closing source rejects a commit; nothing is acknowledged.
    } finally {
      this.#draining = false;
    }
  }

  /** Queued transactions up to {@link MAX_BATCH_ROWS} rows (at least one). */
  #takeBatch(): Transaction[] {
    let rows = 0;
    let count = 0;
    for (const tx of this.#queue) {
      if (count > 0 && rows + tx.changes.length > MAX_BATCH_ROWS) break;
      rows += tx.changes.length;
      count++;
    }
    return this.#queue.splice(0, count);
  }

  /**
   * The server's keepalive carries the end of what it sent. When nothing is open or queued,
   * every change before it was handled, so the slot may move on (WAL of other tables).
   */
  #onKeepalive(walEnd: bigint, replyRequested: boolean): void {
    const idle = this.#open === undefined && this.#queue.length === 0 && !this.#draining;
    if (idle && walEnd > this.#acked) this.#acked = walEnd;
    if (replyRequested || idle) this.#sendStatus(false);
  }

  /** Standby status update: written, flushed and applied up to the last handled commit. */
  #sendStatus(replyRequested: boolean): void {
    if (this.#stopping || this.#acked === 0n) return;
    const message = Buffer.alloc(34);
    message[0] = 0x72; // 'r'
    message.writeBigUInt64BE(this.#acked, 1);
    message.writeBigUInt64BE(this.#acked, 9);
    message.writeBigUInt64BE(this.#acked, 17);
    message.writeBigInt64BE((BigInt(Date.now()) - 946_684_800_000n) * 1000n, 25);
    message[33] = replyRequested ? 1 : 0;
    try {
      this.connection.sendCopyFromChunk(message);
    } catch {
      // The connection is going; `ended` reports it.
    }
  }
}

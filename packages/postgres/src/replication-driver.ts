import { type ChangeSink, type ChangeStreamDriver, EntitySyncError, type FollowedStream } from '@entity-sync/core';
import pg from 'pg';
import type { ResolvedPostgresOptions } from './options.js';
import { ReplicationStream } from './replication-stream.js';
import { parseTableName, quoteIdent, quoteTable, tableKey } from './sql.js';

type SlotState = 'missing' | 'lost' | 'active' | 'free';

/** Runs `work` on a short-lived session of its own. */
export async function withClient<T>(config: pg.ClientConfig, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(config);
  client.on('error', () => {}); // a lost session fails the running query
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Logical replication: the follower is whoever streams the slot (Postgres lets one session
 * stream a slot at a time, so the slot is the leader lock). Creates the publication and the
 * slot when missing; a new slot (first start, or the old one was dropped or lost its WAL)
 * cannot prove that nothing was missed, so the cluster resyncs.
 */
export class ReplicationDriver implements ChangeStreamDriver {
  readonly name = 'createPostgresSource';

  constructor(private readonly options: ResolvedPostgresOptions) {}

  async follow(sink: ChangeSink): Promise<FollowedStream | undefined> {
    const { connection, slot, publication } = this.options;
    const fresh = await withClient(connection, async (client) => {
      await ensurePublication(client, publication, sink.tables);
      return prepareSlot(client, slot);
    });
    if (fresh === undefined) return undefined;
    const stream = await ReplicationStream.open(connection, slot, publication, sink);
    if (stream !== undefined && fresh) await sink.gap(`a new replication slot ${slot}`);
    return stream;
  }
}

/** Creates the publication `FOR TABLE` the configured tables, or adds the ones it lacks. */
async function ensurePublication(client: pg.Client, publication: string, tables: readonly string[]): Promise<void> {
  const wanted = tables.map(parseTableName);
  const existing = await client.query<{ schemaname: string; tablename: string }>(
    'SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1',
    [publication],
  );
  const known = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [publication]);
  const have = new Set(existing.rows.map((r) => `${r.schemaname}.${r.tablename}`));
  const missing = wanted.filter((t) => !have.has(tableKey(t))).map(quoteTable);
  if (missing.length === 0) return;
  const sql =
    known.rowCount === 0
      ? `CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLE ${missing.join(', ')}`
      : `ALTER PUBLICATION ${quoteIdent(publication)} ADD TABLE ${missing.join(', ')}`;
  await client.query(sql).catch((error: { code?: string }) => {
    if (error.code !== '42710') throw error; // another node created it at the same moment
  });
}

/**
 * Resolves to `undefined` when another session streams the slot, `true` when the slot was
 * (re)created (a gap), `false` when the existing slot can be streamed.
 */
async function prepareSlot(client: pg.Client, slot: string): Promise<boolean | undefined> {
  const state = await slotState(client, slot);
  if (state === 'active') return undefined;
  if (state === 'free') return false;
  if (state === 'lost') await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
  await client.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]).catch((error: { code?: string }) => {
    if (error.code !== '42710') throw error;
  });
  return true;
}

async function slotState(client: pg.Client, slot: string): Promise<SlotState> {
  const result = await client.query<{ active: boolean; wal_status: string | null; plugin: string; database: string }>(
    'SELECT active, wal_status, plugin, database, current_database() AS here FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  const row = result.rows[0] as { active: boolean; wal_status: string | null; plugin: string; database: string; here: string } | undefined;
  if (row === undefined) return 'missing';
  if (row.plugin !== 'pgoutput' || row.database !== row.here) {
    throw new EntitySyncError(
      'INVALID_OPTIONS',
      `createPostgresSource: slot ${slot} exists for plugin ${row.plugin} in database ${row.database}; pick another \`slot\``,
    );
  }
  if (row.active) return 'active';
  return row.wal_status === 'lost' ? 'lost' : 'free';
}

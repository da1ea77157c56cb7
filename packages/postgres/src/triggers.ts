import { createHash } from 'node:crypto';
import type { RowKeysFunction } from '@entity-sync/core';
import type pg from 'pg';
import { parseTableName, quoteIdent, quoteLiteral, quoteTable, type TableName } from './sql.js';

/** Payloads above this fall back to a "table changed" message (Postgres refuses 8,000 bytes). */
export const MAX_PAYLOAD_BYTES = 7_900;

/**
 * The trigger function, shared by every table and channel. Arguments: the channel, then the
 * columns to send. It sends `{t, x, op, new, old}` with only those columns (never the whole
 * row), `{t, x, op: 'overflow'}` when that would pass the limit, and `{t, x, op: 'truncate'}`.
 */
function functionSql(schema: string): string {
  return `CREATE OR REPLACE FUNCTION ${quoteIdent(schema)}.entity_sync_notify() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  cols text[] := TG_ARGV[1:TG_NARGS - 1];
  tbl text := TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME;
  n jsonb;
  o jsonb;
  payload text;
BEGIN
  IF TG_LEVEL = 'STATEMENT' THEN
    PERFORM pg_notify(TG_ARGV[0], json_build_object('t', tbl, 'x', txid_current(), 'op', 'truncate')::text);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    SELECT jsonb_object_agg(k, v) INTO n FROM jsonb_each(to_jsonb(NEW)) AS e(k, v) WHERE k = ANY (cols);
  END IF;
  IF TG_OP <> 'INSERT' THEN
    SELECT jsonb_object_agg(k, v) INTO o FROM jsonb_each(to_jsonb(OLD)) AS e(k, v) WHERE k = ANY (cols);
  END IF;
  payload := json_build_object('t', tbl, 'x', txid_current(), 'op', lower(TG_OP), 'new', n, 'old', o)::text;
  IF octet_length(payload) > ${MAX_PAYLOAD_BYTES} THEN
    payload := json_build_object('t', tbl, 'x', txid_current(), 'op', 'overflow')::text;
  END IF;
  PERFORM pg_notify(TG_ARGV[0], payload);
  RETURN NULL;
END
$fn$`;
}

/**
 * Which columns a key function reads: runs it on rows that record every property read (a key
 * function that branches on values may read more; declare `columns` then).
 */
export function deriveColumns(fn: RowKeysFunction): string[] {
  const read = new Set<string>();
  const recorder = new Proxy({} as Record<string, unknown>, {
    get: (_, property) => {
      if (typeof property === 'string') read.add(property);
      return '0';
    },
  });
  for (const [row, old] of [
    [recorder, null],
    [null, recorder],
  ] as const) {
    try {
      for (const _ of fn(row, old) ?? []);
    } catch {
      // keep what it read before throwing
    }
  }
  return [...read];
}

async function primaryKey(client: pg.Client, table: TableName): Promise<string[]> {
  const result = await client.query<{ attname: string }>(
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
     WHERE i.indrelid = $1::regclass AND i.indisprimary`,
    [quoteTable(table)],
  );
  return result.rows.map((r) => r.attname);
}

/** The columns the trigger of `configured` sends: declared, else read by the key function, else the primary key. */
export async function columnsFor(
  client: pg.Client,
  configured: string,
  fn: RowKeysFunction,
  declared: readonly string[] | undefined,
): Promise<string[]> {
  if (declared) return [...declared];
  const derived = deriveColumns(fn);
  return derived.length > 0 ? derived : primaryKey(client, parseTableName(configured));
}

/**
 * Installs the function and the table's triggers unless a trigger with the same settings is
 * already there (the name carries a hash of channel and columns), under an advisory lock so
 * that nodes starting together do not race. Idempotent.
 */
export async function installTriggers(client: pg.Client, configured: string, channel: string, columns: string[]): Promise<void> {
  const table = parseTableName(configured);
  const hash = createHash('sha256')
    .update(JSON.stringify([channel, columns]))
    .digest('hex')
    .slice(0, 10);
  const rowTrigger = `entity_sync_${channel}_${hash}`.slice(0, 60);
  const present = await client.query('SELECT 1 FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = $2', [
    quoteTable(table),
    rowTrigger,
  ]);
  if (present.rowCount !== 0) return;
  const args = [channel, ...columns].map(quoteLiteral).join(', ');
  const target = quoteTable(table);
  const stale = await client.query<{ tgname: string }>(
    `SELECT tgname FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname LIKE $2 AND NOT tgisinternal`,
    [target, `entity_sync\\_${channel}\\_%`],
  );
  const statements = [
    `SELECT pg_advisory_xact_lock(hashtext('entity_sync_install'))`,
    functionSql(table.schema),
    ...stale.rows.map((r) => `DROP TRIGGER IF EXISTS ${quoteIdent(r.tgname)} ON ${target}`),
    `DROP TRIGGER IF EXISTS ${quoteIdent(rowTrigger)} ON ${target}`,
    `DROP TRIGGER IF EXISTS ${quoteIdent(`${rowTrigger}_t`)} ON ${target}`,
    `CREATE TRIGGER ${quoteIdent(rowTrigger)} AFTER INSERT OR UPDATE OR DELETE ON ${target} FOR EACH ROW EXECUTE FUNCTION ${quoteIdent(table.schema)}.entity_sync_notify(${args})`,
    `CREATE TRIGGER ${quoteIdent(`${rowTrigger}_t`)} AFTER TRUNCATE ON ${target} FOR EACH STATEMENT EXECUTE FUNCTION ${quoteIdent(table.schema)}.entity_sync_notify(${args})`,
  ];
  await client.query(['BEGIN', ...statements, 'COMMIT'].join(';\n')).catch(async (error: unknown) => {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  });
}

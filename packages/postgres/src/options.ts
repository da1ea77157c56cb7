import { type ChangeSourceOptions, EntitySyncError } from '@entity-sync/core';
import type { ClientConfig } from 'pg';

/** How the source learns of changes. */
export type PostgresSourceMode = 'replication' | 'notify';

/** Options of {@link createPostgresSource}. */
export interface PostgresSourceOptions extends ChangeSourceOptions {
  /**
   * Where to connect: a URL (`postgres://user:pass@host:5432/db`) or a `pg` `ClientConfig`.
   * The source opens its own connections (a replication session, or a `LISTEN` session, plus
   * one short-lived session for setup), because both need a session of their own.
   */
  connection: string | ClientConfig;
  /**
   * `'replication'`: logical replication (`pgoutput`) through a permanent slot, durable.
   * `'notify'`: triggers and `LISTEN`/`NOTIFY`, no replication privileges, resync on reconnect.
   * @default 'replication'
   */
  mode?: PostgresSourceMode;
  /** Replication slot name; one per cluster. @default 'entity_sync' */
  slot?: string;
  /**
   * Publication the slot streams; created `FOR TABLE` the configured tables when missing.
   * @default 'entity_sync'
   */
  publication?: string;
  /** Notify mode: the `pg_notify` channel. @default 'entity_sync' */
  channel?: string;
  /**
   * Notify mode: per table, the columns the key function reads; the trigger sends only these
   * (old and new values). A table not listed here sends its primary key columns.
   * @default {}
   */
  columns?: Record<string, readonly string[]>;
}

/** Options after defaults. */
export interface ResolvedPostgresOptions {
  connection: ClientConfig;
  mode: PostgresSourceMode;
  slot: string;
  publication: string;
  channel: string;
  columns: Record<string, readonly string[]>;
}

const NAME = /^[a-z_][a-z0-9_]{0,62}$/;

function invalid(message: string): EntitySyncError {
  return new EntitySyncError('INVALID_OPTIONS', `createPostgresSource: ${message}`);
}

function name(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw invalid(`expected \`${option}\` to match ${NAME} (lower case, as Postgres folds it), got ${String(value)}`);
  }
  return value;
}

function columnsOption(value: unknown): Record<string, readonly string[]> {
  if (value === undefined) return {};
  const valid =
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((cols) => Array.isArray(cols) && cols.length > 0 && cols.every((c) => typeof c === 'string'));
  if (!valid) throw invalid('expected `columns` to map table names to non-empty arrays of column names');
  return value as Record<string, readonly string[]>;
}

/** Validates the Postgres-specific options (the shared ones are checked by core). */
export function resolveOptions(options: PostgresSourceOptions): ResolvedPostgresOptions {
  if (typeof options !== 'object' || options === null) throw invalid('expected an options object');
  const { connection, mode = 'replication' } = options;
  if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
    throw invalid('expected `connection` to be a postgres:// URL or a pg ClientConfig');
  }
  if (mode !== 'replication' && mode !== 'notify') {
    throw invalid(`expected \`mode\` to be 'replication' or 'notify', got ${String(mode)}`);
  }
  return {
    connection: typeof connection === 'string' ? { connectionString: connection } : connection,
    mode,
    slot: name(options.slot, 'slot', 'entity_sync'),
    publication: name(options.publication, 'publication', 'entity_sync'),
    channel: name(options.channel, 'channel', 'entity_sync'),
    columns: columnsOption(options.columns),
  };
}

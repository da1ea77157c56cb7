import { type ChangeSourceOptions, EntitySyncError } from '@entity-sync/core';
import type { ConnectionOptions } from 'mysql2';

/** Options of {@link createMysqlSource}. */
export interface MysqlSourceOptions extends ChangeSourceOptions {
  /**
   * Where to connect: a URL (`mysql://user:pass@host:3306/db`) or `mysql2` `ConnectionOptions`.
   * The source opens its own connections: one holding the leader lock, and on the follower the
   * binlog stream (with its metadata connection).
   */
  connection: string | ConnectionOptions;
  /** Name of the `GET_LOCK` lock that elects the follower; one per cluster. @default 'entity_sync' */
  lock?: string;
  /**
   * Server id the follower presents to the server for its binlog dump; unique among the
   * server's replicas. @default a random id in 100000..2^31
   */
  serverId?: number;
}

/** Options after defaults. */
export interface ResolvedMysqlOptions {
  connection: ConnectionOptions;
  lock: string;
  serverId: number;
}

function invalid(message: string): EntitySyncError {
  return new EntitySyncError('INVALID_OPTIONS', `createMysqlSource: ${message}`);
}

/** Validates the MySQL-specific options (the shared ones are checked by core). */
export function resolveOptions(options: MysqlSourceOptions): ResolvedMysqlOptions {
  if (typeof options !== 'object' || options === null) throw invalid('expected an options object');
  const { connection, lock = 'entity_sync' } = options;
  if (typeof connection !== 'string' && (typeof connection !== 'object' || connection === null)) {
    throw invalid('expected `connection` to be a mysql:// URL or mysql2 ConnectionOptions');
  }
  if (typeof lock !== 'string' || lock.length === 0 || lock.length > 64) {
    throw invalid(`expected \`lock\` to be a name of 1 to 64 characters, got ${String(lock)}`);
  }
  const serverId = options.serverId ?? 100_000 + Math.floor(Math.random() * (2 ** 31 - 100_000));
  if (!Number.isInteger(serverId) || serverId < 1 || serverId >= 2 ** 32) {
    throw invalid(`expected \`serverId\` to be an integer in 1..2^32-1, got ${String(serverId)}`);
  }
  return { connection: typeof connection === 'string' ? { uri: connection } : connection, lock, serverId };
}

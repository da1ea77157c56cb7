import { type ChangeSource, type ChangeSourceTarget, createChangeSource } from '@entity-sync/core';
import { type PostgresSourceOptions, resolveOptions } from './options.js';
import { NotifyDriver } from './notify-driver.js';
import { ReplicationDriver } from './replication-driver.js';

/**
 * Watches Postgres and notifies the keys of every committed row change of the configured
 * tables. Throws `INVALID_OPTIONS` on bad options; call `start()` to begin.
 */
export function createPostgresSource(sync: ChangeSourceTarget, options: PostgresSourceOptions): ChangeSource {
  const resolved = resolveOptions(options);
  const driver = resolved.mode === 'notify' ? new NotifyDriver(resolved, options.tables) : new ReplicationDriver(resolved);
  return createChangeSource(sync, options, driver);
}

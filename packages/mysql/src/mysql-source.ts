import { type ChangeSource, type ChangeSourceTarget, createChangeSource } from '@entity-sync/core';
import { BinlogDriver } from './binlog-driver.js';
import { type MysqlSourceOptions, resolveOptions } from './options.js';

/**
 * Watches MySQL or MariaDB through its row binlog and notifies the keys of every committed row
 * change of the configured tables. Throws `INVALID_OPTIONS` on bad options; call `start()`.
 */
export function createMysqlSource(sync: ChangeSourceTarget, options: MysqlSourceOptions): ChangeSource {
  return createChangeSource(sync, options, new BinlogDriver(resolveOptions(options)));
}

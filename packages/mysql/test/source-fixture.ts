// The module the conformance suite loads (in the test process and in killed child processes)
// to create the MySQL source under test.
import type { ChangeSource, ChangeSourceTarget, SourceTables } from '@entity-sync/core';
import { createMysqlSource, type MysqlSourceOptions } from '@entity-sync/mysql';

export function createTestSource(target: ChangeSourceTarget, tables: SourceTables, settings: Record<string, unknown>): ChangeSource {
  return createMysqlSource(target, { ...settings, tables } as MysqlSourceOptions);
}

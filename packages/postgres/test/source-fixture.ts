// The module the conformance suite loads (in the test process and in killed child processes)
// to create the Postgres source under test.
import type { ChangeSource, ChangeSourceTarget, SourceTables } from '@entity-sync/core';
import { createPostgresSource, type PostgresSourceOptions } from '@entity-sync/postgres';

export function createTestSource(target: ChangeSourceTarget, tables: SourceTables, settings: Record<string, unknown>): ChangeSource {
  return createPostgresSource(target, { ...settings, tables } as PostgresSourceOptions);
}

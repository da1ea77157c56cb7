import type { ChangeSource, ChangeSourceOptions, ChangeSourceTarget, EntityKey, SourceRow, SourceTables } from '@entity-sync/core';

/** What a source package's fixture module exports for {@link sourceConformance}. */
export interface SourceModule {
  /**
   * Creates the source under test for `target`, watching `tables`, with `settings` (the
   * fixture's JSON: URL, slot name, ...) and the suite's `onError` and `retryMs`.
   */
  createTestSource(
    target: ChangeSourceTarget,
    tables: SourceTables,
    settings: Record<string, unknown> & Pick<ChangeSourceOptions, 'onError' | 'retryMs'>,
  ): ChangeSource;
}

/** Keys of a row of a conformance table `(id, owner, title)`: the item and its owner's list. */
export function itemKeys(row: SourceRow | null, old: SourceRow | null): EntityKey[] {
  const r = (row ?? old) as SourceRow;
  if (r['title'] === 'throw') throw new Error('key function failed on purpose');
  return [
    { entity: 'items', id: String(r['id']) },
    { entity: 'lists', id: String(r['owner']) },
  ];
}

/** The suite's tables map: one watched table. */
export function conformanceTables(table: string): SourceTables {
  return { [table]: itemKeys };
}

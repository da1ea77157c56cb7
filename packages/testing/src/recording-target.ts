import type { ChangeTarget, EntityKey } from '@entity-sync/core';

/**
 * A {@link ChangeTarget} that records what a change source notified, for source tests: each
 * `notifyAllOfChange` call is one entry of `calls`, and `resyncs` counts `resyncAll()`.
 */
export class RecordingTarget implements ChangeTarget {
  readonly calls: EntityKey[][] = [];
  resyncs = 0;
  /** Called after each recorded notify (e.g. to forward it to a parent process). */
  onNotify: ((keys: EntityKey[]) => void) | undefined;
  onResync: (() => void) | undefined;

  async notifyAllOfChange(keys: EntityKey | readonly EntityKey[]): Promise<void> {
    const list = [keys].flat();
    this.calls.push(list);
    this.onNotify?.(list);
  }

  async resyncAll(): Promise<void> {
    this.resyncs++;
    this.onResync?.();
  }

  /** Every notified key as `entity/id`, once each. */
  keys(): Set<string> {
    return new Set(this.calls.flat().map((k) => `${k.entity}/${k.id}`));
  }

  has(entity: string, id: string | number): boolean {
    return this.calls.some((call) => call.some((k) => k.entity === entity && k.id === String(id)));
  }
}

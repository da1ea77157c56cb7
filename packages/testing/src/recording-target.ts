import type { ChangeSourceTarget, EntityKey } from '@entity-sync/core';

type Target = EntityKey | { tag: string };

/**
 * A {@link ChangeSourceTarget} that records what a change source notified, for source tests: each
 * `notifyAllOfChange` call is one entry of `calls`, and `resyncs` counts `resyncAll()`.
 */
export class RecordingTarget implements ChangeSourceTarget {
  readonly calls: Target[][] = [];
  resyncs = 0;
  /** Called after each recorded notify (e.g. to forward it to a parent process). */
  onNotify: ((keys: Target[]) => void) | undefined;
  onResync: (() => void) | undefined;

  async notifyAllOfChange(keys: Target | readonly Target[]): Promise<void> {
    const list = [keys].flat();
    this.calls.push(list);
    this.onNotify?.(list);
  }

  async resyncAll(): Promise<void> {
    this.resyncs++;
    this.onResync?.();
  }

  /** Every notified key as `entity/id` (and tag as `#tag`), once each. */
  keys(): Set<string> {
    return new Set(this.calls.flat().map((k) => ('tag' in k ? `#${k.tag}` : `${k.entity}/${k.id}`)));
  }

  has(entity: string, id: string | number): boolean {
    return this.calls.some((call) => call.some((k) => 'entity' in k && k.entity === entity && k.id === String(id)));
  }
}

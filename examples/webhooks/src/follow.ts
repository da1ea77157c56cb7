import type { EntityKey, EntitySync, Params, ServerSubscribeOptions, Tag } from '@entity-sync/core';
import type { WebhookRelay } from './webhook-relay.js';

/** What server code follows: a key, a query key, or a tag. */
export type Followed = EntityKey | { entity: string; params: Params } | Tag;

/**
 * Follows each target with `sync.subscribe` (the same fetch, scope and authorization rules as a
 * WebSocket client with `options.secret`) and queues one webhook event per value or tag change:
 * `{"type": "snapshot" | "change", "key", "value"}` for a key, `{"type": "tag", "tag"}` for a
 * tag. Resolves with the function that stops following; rejects as `sync.subscribe` does
 * (`UNKNOWN_ENTITY`, `INVALID_KEY`, `FORBIDDEN`, ...), after undoing the targets already followed.
 */
export async function followChanges(
  sync: EntitySync,
  relay: WebhookRelay,
  targets: readonly Followed[],
  options: ServerSubscribeOptions = {},
): Promise<() => void> {
  const stops: Array<() => void> = [];
  const stopAll = (): void => {
    for (const stop of stops.splice(0)) stop();
  };
  try {
    for (const target of targets) stops.push(await follow(sync, relay, target, options));
  } catch (error) {
    stopAll();
    throw error;
  }
  return stopAll;
}

async function follow(sync: EntitySync, relay: WebhookRelay, target: Followed, options: ServerSubscribeOptions): Promise<() => void> {
  if ('tag' in target) return sync.subscribe(target, (tag) => relay.enqueue({ type: 'tag', tag: tag.tag }));
  let subscribed = false; // values before `subscribe` resolves are the snapshot
  const stop = await sync.subscribe(
    target,
    (value, key) => relay.enqueue({ type: subscribed ? 'change' : 'snapshot', key, value }),
    options,
  );
  subscribed = true;
  return stop;
}

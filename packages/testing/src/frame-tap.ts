import type { EntitySync } from '@entity-sync/core';

/** What {@link tapClientFrames} counted. */
export interface FrameTap {
  /** `subscribe` or `unsubscribe` messages received for `entity/id` (one per key of a batch), on every connection. */
  count(action: 'subscribe' | 'unsubscribe', key: string): number;
  reset(): void;
}

/**
 * Counts the subscribe and unsubscribe messages every connection of `sync` sends, whatever the
 * transport, by wrapping `sync.accept` (the one door every transport feeds frames through).
 * Call it before the first connection. For tests that assert "one wire subscription per key".
 */
export function tapClientFrames(sync: EntitySync): FrameTap {
  const counts = new Map<string, number>();
  const accept = sync.accept.bind(sync);
  sync.accept = (socket, options, secret) => {
    const handle = accept(socket, options, secret);
    return {
      id: handle.id,
      receive: (data) => {
        countMessage(counts, typeof data === 'string' ? data : new TextDecoder().decode(data));
        handle.receive(data);
      },
      drained: () => handle.drained(),
      closed: () => handle.closed(),
    };
  };
  return { count: (action, key) => counts.get(`${action} ${key}`) ?? 0, reset: () => counts.clear() };
}

function countMessage(counts: Map<string, number>, text: string): void {
  let message: { action?: unknown; body?: unknown };
  try {
    message = JSON.parse(text) as typeof message;
  } catch {
    return;
  }
  if (message?.action !== 'subscribe' && message?.action !== 'unsubscribe') return;
  const keys = (Array.isArray(message.body) ? message.body : [message.body]) as { entity?: unknown; id?: unknown }[];
  for (const key of keys) {
    const name = `${message.action} ${String(key?.entity)}/${String(key?.id)}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
}

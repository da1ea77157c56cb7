import type { ClientId } from './types.js';

/**
 * What a node tells observers (metrics, logs, tests) through `sync.on(event, listener)`. Each
 * event is emitted only while it has a listener, so an unobserved node pays nothing for it.
 */
export interface NodeEvents {
  /** A connection was accepted (`opened`) or went away (`closed`, with the close code when known). */
  connection: { type: 'opened' | 'closed'; clientId: ClientId; protocol: 'legacy' | 'v1'; code?: number };
  /** The broker connection was lost or came back. */
  bus: { status: 'up' | 'down' };
  /** Every held key is fetched again: after a broker outage (`bus`), or a cluster `resyncAll` (`control`, `local`). */
  resync: { reason: 'bus' | 'control' | 'local'; keys: number };
  /** A fetch handler finished: how long it took, and how (`ok`, or its error code). */
  fetch: { entity: string; ms: number; ok: boolean; code?: 'FETCH_FAILED' | 'FETCH_TIMEOUT' };
  /**
   * The values of a change reached the connections that hold the key: `ms` from the change
   * (`notifyAllOfChange` on any node, or a change source's commit time) to the frames written.
   * Across nodes it relies on their clocks agreeing.
   */
  freshness: { entity: string; ms: number; subscribers: number };
  /** A fetch handler failed (also reported to `onError`). */
  fetchFailed: { entity: string; code: 'FETCH_FAILED' | 'FETCH_TIMEOUT'; error: Error };
}

export type NodeEventName = keyof NodeEvents;
export type NodeEventListener<K extends NodeEventName> = (event: NodeEvents[K]) => void;

/** A small typed emitter; a throwing listener is reported through `onError`, never thrown. */
export class Events {
  readonly #listeners = new Map<NodeEventName, Set<(event: never) => void>>();

  constructor(private readonly onThrow: (error: unknown) => void) {}

  on<K extends NodeEventName>(event: K, listener: NodeEventListener<K>): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (event: never) => void);
    return () => {
      set.delete(listener as (event: never) => void);
      if (set.size === 0) this.#listeners.delete(event);
    };
  }

  /** Whether anyone listens to `event` (to skip building it). */
  has(event: NodeEventName): boolean {
    return this.#listeners.has(event);
  }

  emit<K extends NodeEventName>(event: K, payload: NodeEvents[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const listener of set) {
      try {
        (listener as NodeEventListener<K>)(payload);
      } catch (error) {
        this.onThrow(error);
      }
    }
  }
}

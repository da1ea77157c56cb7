import type { ClientErrorCode } from './errors.js';
import type { ConnectionState, EntityKey, StateDetail } from './types.js';

/** A random id per shared client instance (one per tab, usually). */
export type TabId = string;

/**
 * The messages tabs exchange on their `BroadcastChannel`. Every message names its sender; a
 * message with `to` is for that tab only (the channel has no unicast, so others drop it).
 */
export type TabMessage = ToLeader | FromLeader;

/** Sent by every tab (the leader included, without the channel) to whichever tab leads. */
export type ToLeader =
  /** All the keys this tab holds, replacing what the leader knew: on start and on a new leader. */
  | { t: 'hello'; from: TabId; keys: EntityKey[] }
  | { t: 'sub'; from: TabId; key: EntityKey }
  | { t: 'unsub'; from: TabId; key: EntityKey }
  /** The connection's secret; every tab records it, so a new leader connects with the latest. */
  | { t: 'secret'; from: TabId; secret: string | null }
  /** The tab is closing: the leader drops its keys; if the leader says it, the others elect. */
  | { t: 'bye'; from: TabId };

/** Sent by the leader. `term` orders leaderships (only the heartbeat fallback compares it). */
export type FromLeader =
  | { t: 'leader'; from: TabId; term: number; state: ConnectionState; to?: TabId }
  /** Heartbeat, only when elections run without Web Locks. */
  | { t: 'beat'; from: TabId; term: number }
  | { t: 'state'; from: TabId; state: ConnectionState; detail: StateDetail }
  | { t: 'data'; from: TabId; key: EntityKey; value: unknown; snapshot: boolean; to?: TabId }
  /** A per-key error (the key's subscription goes on or was dropped, as in the core client). */
  | { t: 'kerr'; from: TabId; key: EntityKey; code: ClientErrorCode; message: string; to?: TabId }
  /** The server said the secret expired: every tab's `secretExpired` event fires. */
  | { t: 'expired'; from: TabId }
  /** An error of the connection or of a message, not tied to one subscription. */
  | { t: 'err'; from: TabId; code: ClientErrorCode; message: string; key?: EntityKey };

/** What the leader sends; the facade adds `from`. */
export type LeaderOutput = FromLeader extends infer M ? (M extends FromLeader ? Omit<M, 'from'> : never) : never;

/** A new id: random, and readable in logs. Not `crypto.randomUUID`, which insecure origins lack. */
export function newTabId(): TabId {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

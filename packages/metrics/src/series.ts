import type { SyncStats } from '@entity-sync/core';

/** How a series is exposed: a value that goes up and down, a running total, or a distribution. */
export type SeriesKind = 'gauge' | 'counter' | 'histogram';

/**
 * One series of a node, described once for every backend. Its Prometheus name is
 * `prefix + name + (_seconds|_bytes) + (_total for counters)`; OpenTelemetry instruments are
 * named `prefix + name` with the unit beside it (`s`, `By`), which the OpenTelemetry-to-Prometheus
 * mapping turns back into the same Prometheus name.
 */
export interface Series {
  readonly name: string;
  readonly kind: SeriesKind;
  readonly unit?: 'seconds' | 'bytes';
  readonly help: string;
  /** The series' own labels (constant `labels` of the options come on top). */
  readonly labels: readonly string[];
  /** Read from `sync.stats()` at scrape time; series without it are fed by node events. */
  readonly stat?: (stats: SyncStats) => number;
}

const gauge = (name: string, help: string, stat: (s: SyncStats) => number): Series => ({ name, kind: 'gauge', help, labels: [], stat });
const total = (name: string, help: string, stat: (s: SyncStats) => number, unit?: 'bytes'): Series => ({
  name,
  kind: 'counter',
  help,
  labels: [],
  stat,
  ...(unit === undefined ? {} : { unit }),
});
const counter = (name: string, help: string, labels: readonly string[]): Series => ({ name, kind: 'counter', help, labels });
const histogram = (name: string, help: string): Series => ({ name, kind: 'histogram', unit: 'seconds', help, labels: ['entity'] });

/** Every series a node exposes, in the order of docs/operations.md. */
export const SERIES = {
  connections: gauge('connections', 'Open client connections on this node.', (s) => s.connections),
  subscriptions: gauge('subscriptions', 'Connection-key subscriptions on this node.', (s) => s.subscriptions),
  keys: gauge('keys', 'Distinct keys with at least one subscriber on this node.', (s) => s.keys),
  busSubscriptions: gauge(
    'bus_subscriptions',
    'Subjects (keys and tags) this node is subscribed to on the bus.',
    (s) => s.busSubscriptions,
  ),
  dependencies: gauge('dependencies', 'Subjects held only because fetches declared they depend on them.', (s) => s.dependencies),
  busUp: gauge('bus_up', '1 while the broker connection is up, 0 while it is down.', (s) => (s.bus === 'up' ? 1 : 0)),
  fetchesInFlight: gauge('fetches_in_flight', 'Fetch handlers running now.', (s) => s.fetchesInFlight),
  fetchesQueued: gauge('fetches_queued', 'Fetches waiting for a free slot (maxConcurrentFetches).', (s) => s.fetchesQueued),
  publishesBuffered: gauge('publishes_buffered', 'Notifies waiting for the bus to come back.', (s) => s.publishesBuffered),
  fetches: counter('fetches', 'Fetch handler calls finished, by entity and outcome (ok, error, timeout).', ['entity', 'outcome']),
  fetchDuration: histogram('fetch_duration', 'Time a fetch handler took, by entity.'),
  freshness: histogram('freshness', 'Time from a change (notifyAllOfChange or a commit) to its frames written on this node, by entity.'),
  fetchesCoalesced: total('fetches_coalesced', 'Fetch requests absorbed by a fetch already running or waiting.', (s) => s.fetchesCoalesced),
  conflated: total('conflated_values', 'Values replaced by a newer one while waiting for a slow client.', (s) => s.conflated),
  encodings: total('encodings', 'Fetch results serialized (once per fetch, or per audience with a view).', (s) => s.encodings),
  framesSent: total('frames_sent', 'Frames written to client connections.', (s) => s.framesSent),
  bytesSent: total('sent', 'Bytes (characters of text frames) written to client connections.', (s) => s.bytesSent, 'bytes'),
  busMessagesReceived: total(
    'bus_messages_received',
    'Bus messages received for keys with local subscribers.',
    (s) => s.busMessagesReceived,
  ),
  busMessagesPublished: total('bus_messages_published', 'Bus messages published by this node.', (s) => s.busMessagesPublished),
  busStatusChanges: counter('bus_status_changes', 'Broker connection reported up or down.', ['status']),
  resyncs: counter('resyncs', 'Resyncs (every held key fetched again), by reason (bus, control, local).', ['reason']),
  resyncedKeys: counter('resynced_keys', 'Keys fetched again by resyncs, by reason.', ['reason']),
  connectionsOpened: counter('connections_opened', 'Client connections accepted, by protocol (v1, legacy).', ['protocol']),
  connectionsClosed: counter('connections_closed', 'Client connections gone, by close code (none when unknown).', ['code']),
} as const satisfies Record<string, Series>;

export type SeriesId = keyof typeof SERIES;

/** The label names the series use themselves: constant labels may not take them. */
export const SERIES_LABELS: ReadonlySet<string> = new Set(Object.values(SERIES).flatMap((s: Series) => s.labels));

/** The series' Prometheus name. */
export function prometheusName(prefix: string, series: Series): string {
  const unit = series.unit === undefined ? '' : `_${series.unit}`;
  return `${prefix}${series.name}${unit}${series.kind === 'counter' ? '_total' : ''}`;
}

/**
 * Default histogram buckets, in seconds: 1 ms to 10 s. Fetches are usually milliseconds and time
 * out at 5 s by default; freshness adds a bus hop and the fetch.
 */
export const DEFAULT_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

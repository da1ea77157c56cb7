import type { EntitySync, NodeEvents } from '@entity-sync/core';
import { SERIES, type Series } from './series.js';

export type Labels = Record<string, string>;

/** What a backend (prom-client, OpenTelemetry) does with the event-fed series. */
export interface Recorder {
  /** Adds `by` to a counter. */
  count(series: Series, labels: Labels, by: number): void;
  /** Records one value of a histogram. */
  observe(series: Series, labels: Labels, seconds: number): void;
}

/** The node as this package reads it: events and the stats snapshot. */
export type ObservedNode = Pick<EntitySync, 'on' | 'stats'>;

const OUTCOME = { FETCH_FAILED: 'error', FETCH_TIMEOUT: 'timeout' } as const;

function fetchOutcome(event: NodeEvents['fetch']): string {
  return event.ok ? 'ok' : OUTCOME[event.code ?? 'FETCH_FAILED'];
}

/** Feeds the node's events into `recorder`; returns the function that stops listening. */
export function recordEvents(sync: ObservedNode, recorder: Recorder): () => void {
  const stops = [
    sync.on('fetch', (e) => {
      recorder.count(SERIES.fetches, { entity: e.entity, outcome: fetchOutcome(e) }, 1);
      recorder.observe(SERIES.fetchDuration, { entity: e.entity }, e.ms / 1000);
    }),
    // Across nodes the time relies on their clocks agreeing; a clock behind counts as 0.
    sync.on('freshness', (e) => recorder.observe(SERIES.freshness, { entity: e.entity }, Math.max(0, e.ms) / 1000)),
    sync.on('resync', (e) => {
      recorder.count(SERIES.resyncs, { reason: e.reason }, 1);
      recorder.count(SERIES.resyncedKeys, { reason: e.reason }, e.keys);
    }),
    sync.on('connection', (e) => {
      if (e.type === 'opened') recorder.count(SERIES.connectionsOpened, { protocol: e.protocol }, 1);
      else recorder.count(SERIES.connectionsClosed, { code: e.code === undefined ? 'none' : String(e.code) }, 1);
    }),
    sync.on('bus', (e) => recorder.count(SERIES.busStatusChanges, { status: e.status }, 1)),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}

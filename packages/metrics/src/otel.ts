import {
  type Attributes,
  type BatchObservableCallback,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  type MetricOptions,
  type Observable,
} from '@opentelemetry/api';
import { EntitySyncError } from '@entity-sync/core';
import { type CommonMetricsOptions, parseCommonOptions } from './options.js';
import { type ObservedNode, recordEvents } from './record-events.js';
import { SERIES, type Series } from './series.js';

/** Options of {@link collectOtelMetrics}. Every field is optional. */
export interface OtelMetricsOptions extends CommonMetricsOptions {
  /** The meter the instruments are created on. @default `metrics.getMeter('@entity-sync/metrics')` (the global MeterProvider) */
  meter?: Meter;
}

/** What {@link collectOtelMetrics} returns. */
export interface OtelMetricsHandle {
  /**
   * Stops listening to the node and stops observing its stats. Idempotent. (OpenTelemetry cannot
   * remove an instrument: the event-fed ones keep their last values.)
   */
  stop(): void;
}

const OTEL_NAME = /^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$/;
const UNIT = { seconds: 's', bytes: 'By' } as const;

/**
 * The same series as `collectMetrics`, as OpenTelemetry instruments named `prefix + name` with
 * their unit (`s`, `By`): observable gauges and counters read `sync.stats()` once per collection,
 * counters and histograms are fed by the node's events. Throws `INVALID_OPTIONS` on bad options.
 */
export function collectOtelMetrics(sync: ObservedNode, options: OtelMetricsOptions = {}): OtelMetricsHandle {
  const { prefix, buckets, labels } = parseCommonOptions('collectOtelMetrics', options, OTEL_NAME);
  const meter = options.meter ?? metrics.getMeter('@entity-sync/metrics');
  if (typeof meter?.createCounter !== 'function') {
    throw new EntitySyncError('INVALID_OPTIONS', 'collectOtelMetrics: expected `meter` to be an OpenTelemetry Meter');
  }
  const observed: Array<[Series, Observable]> = [];
  const counters = new Map<Series, Counter>();
  const histograms = new Map<Series, Histogram>();
  for (const series of Object.values(SERIES) as Series[]) {
    const name = prefix + series.name;
    const config: MetricOptions = { description: series.help, ...(series.unit === undefined ? {} : { unit: UNIT[series.unit] }) };
    if (series.stat !== undefined) {
      observed.push([
        series,
        series.kind === 'gauge' ? meter.createObservableGauge(name, config) : meter.createObservableCounter(name, config),
      ]);
    } else if (series.kind === 'histogram') {
      const bounds = series === SERIES.freshness ? buckets.freshness : buckets.fetch;
      histograms.set(series, meter.createHistogram(name, { ...config, advice: { explicitBucketBoundaries: bounds } }));
    } else {
      counters.set(series, meter.createCounter(name, config));
    }
  }
  const observe: BatchObservableCallback = (result) => {
    const stats = sync.stats();
    for (const [series, instrument] of observed) result.observe(instrument, series.stat!(stats), labels);
  };
  const instruments = observed.map(([, instrument]) => instrument);
  meter.addBatchObservableCallback(observe, instruments);
  const withLabels = (own: Attributes): Attributes => ({ ...own, ...labels });
  const stopEvents = recordEvents(sync, {
    count: (series, own, by) => counters.get(series)!.add(by, withLabels(own)),
    observe: (series, own, seconds) => histograms.get(series)!.record(seconds, withLabels(own)),
  });
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      stopEvents();
      meter.removeBatchObservableCallback(observe, instruments);
    },
  };
}

export type { CommonMetricsOptions } from './options.js';
export type { ObservedNode } from './record-events.js';

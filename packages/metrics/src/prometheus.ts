import { EntitySyncError, type SyncStats } from '@entity-sync/core';
import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';
import { type CommonMetricsOptions, parseCommonOptions, type ResolvedCommonOptions } from './options.js';
import { type Labels, type ObservedNode, recordEvents } from './record-events.js';
import { prometheusName, SERIES, type Series } from './series.js';

/** Options of {@link collectMetrics}. Every field is optional. */
export interface PrometheusMetricsOptions extends CommonMetricsOptions {
  /** The prom-client registry the series are registered in. @default prom-client's global `register` */
  registry?: Registry;
}

/** What {@link collectMetrics} returns. */
export interface MetricsHandle {
  /** The registry the series are in (serve `await registry.metrics()` on `/metrics`). */
  readonly registry: Registry;
  /** The Prometheus names of the registered series. */
  readonly names: readonly string[];
  /** Stops listening to the node and removes its series from the registry. Idempotent. */
  stop(): void;
}

type PromMetric = Counter | Gauge | Histogram;

const PROMETHEUS_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * Registers the node's series in a prom-client registry. Gauges and the totals kept by the node
 * read `sync.stats()` when the registry is scraped; fetch, freshness, resync, connection and bus
 * series are fed by the node's events from now on. Throws `INVALID_OPTIONS` on bad options or
 * when a series of that name is already registered (one node per registry and prefix).
 */
export function collectMetrics(sync: ObservedNode, options: PrometheusMetricsOptions = {}): MetricsHandle {
  const resolved = parseCommonOptions('collectMetrics', options, PROMETHEUS_NAME);
  const registry = options.registry ?? globalRegistry;
  if (typeof registry?.getSingleMetric !== 'function') {
    throw new EntitySyncError('INVALID_OPTIONS', 'collectMetrics: expected `registry` to be a prom-client Registry');
  }
  const all = Object.values(SERIES) as Series[];
  const names = all.map((series) => prometheusName(resolved.prefix, series));
  const taken = names.find((name) => registry.getSingleMetric(name) !== undefined);
  if (taken !== undefined) {
    throw new EntitySyncError(
      'INVALID_OPTIONS',
      `collectMetrics: "${taken}" is already registered in this registry (one node per registry: pass another \`registry\` or \`prefix\`, or stop() the previous one)`,
    );
  }
  const snapshot = perScrape(() => sync.stats());
  const first = all.find((series) => series.stat !== undefined);
  const metrics = new Map(
    all.map((series, i) => [series, create(series, names[i]!, resolved, registry, () => snapshot(series === first))] as const),
  );
  const { labels } = resolved;
  const stopEvents = recordEvents(sync, {
    count: (series, own, by) => (metrics.get(series) as Counter).inc({ ...own, ...labels }, by),
    observe: (series, own, seconds) => (metrics.get(series) as Histogram).observe({ ...own, ...labels }, seconds),
  });
  let stopped = false;
  return {
    registry,
    names,
    stop() {
      if (stopped) return;
      stopped = true;
      stopEvents();
      for (const name of names) registry.removeSingleMetric(name);
    },
  };
}

/**
 * `sync.stats()` once per scrape (it walks the node's subjects). prom-client runs every
 * `collect()` of a scrape synchronously, in registration order: the first series that reads the
 * stats takes a fresh snapshot (`fresh`), the others reuse it within the same turn of the event
 * loop (a scrape of one metric alone reads its own).
 */
function perScrape<T>(read: () => T): (fresh: boolean) => T {
  let cached: { value: T } | undefined;
  return (fresh) => {
    if (fresh || cached === undefined) {
      if (cached === undefined) setImmediate(() => (cached = undefined));
      cached = { value: read() };
    }
    return cached.value;
  };
}

/** One prom-client metric; series with a `stat` read the node's stats when scraped. */
function create(series: Series, name: string, options: ResolvedCommonOptions, registry: Registry, stats: () => SyncStats): PromMetric {
  const { labels, buckets } = options;
  const config = { name, help: series.help, labelNames: [...series.labels, ...Object.keys(labels)], registers: [registry] };
  const stat = series.stat;
  switch (series.kind) {
    case 'histogram':
      return new Histogram({ ...config, buckets: series === SERIES.freshness ? buckets.freshness : buckets.fetch });
    case 'gauge':
      return new Gauge({
        ...config,
        collect() {
          if (stat !== undefined) this.set(labels as Labels, stat(stats()));
        },
      });
    case 'counter':
      if (stat === undefined) return new Counter(config);
      return new Counter({
        ...config,
        // The node keeps the total: expose it as is (reset, then add the whole of it).
        collect() {
          this.reset();
          this.inc(labels as Labels, stat(stats()));
        },
      });
  }
}

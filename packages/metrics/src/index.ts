export { collectMetrics } from './prometheus.js';
export type { MetricsHandle, PrometheusMetricsOptions } from './prometheus.js';
export type { CommonMetricsOptions } from './options.js';
export type { ObservedNode } from './record-events.js';
export { DEFAULT_BUCKETS, prometheusName, SERIES } from './series.js';
export type { Series, SeriesKind } from './series.js';

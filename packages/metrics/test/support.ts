import { createEntitySync, type EntitySync, type EntitySyncOptions } from '@entity-sync/core';
import { type Closeable, serveHttp, Teardown, TestClient } from '@entity-sync/testing';
import { attachWebSocket } from '@entity-sync/ws';
import type { MetricData, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';
import { collectMetrics, type CommonMetricsOptions, prometheusName, SERIES } from '../src/index.js';
import { collectOtelMetrics } from '../src/otel.js';

/** Everything a test started, stopped in reverse order after each test. */
export const leftovers = new Teardown();

export interface Node {
  sync: EntitySync;
  url: string;
}

/** A real node served over WebSocket on a free loopback port, once its bus is up. */
export async function startNode(configure: (sync: EntitySync) => void, options: EntitySyncOptions = {}): Promise<Node> {
  const sync = createEntitySync({ onError: () => {}, ...options });
  configure(sync);
  const server = await serveHttp((http) => attachWebSocket(sync, { server: http }));
  leftovers.push(sync, server);
  await sync.ready();
  return { sync, url: server.url };
}

export async function connect(node: Node): Promise<TestClient> {
  const client = await TestClient.connect(node.url);
  leftovers.push(client);
  return client;
}

let refs = 0;
/** Subscribes and returns the reply (`ack` or `error`). */
export function subscribe(client: TestClient, entity: string, id: string): Promise<{ type: string; code?: string }> {
  return client.request({ action: 'subscribe', body: { entity, id } }, `r${++refs}`);
}

export type SeriesId = keyof typeof SERIES;
export type Labels = Record<string, string>;

/** The series of one node as a backend exposes them, read the way its consumer would. */
export interface Reading {
  /** A gauge's or counter's value for exactly these labels; undefined when there is no such sample. */
  value(series: SeriesId, labels?: Labels): Promise<number | undefined>;
  /** A histogram's count and sum (seconds) for exactly these labels. */
  histogram(series: SeriesId, labels: Labels): Promise<{ count: number; sum: number } | undefined>;
  stop(): void;
}

export interface Backend {
  name: string;
  collect(sync: EntitySync, options?: CommonMetricsOptions): Reading & Closeable;
}

/** One sample of the text exposition format: `name{a="b"} 1`. */
export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

/** Parses Prometheus' text format (what a scrape gets), skipping comments. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) continue;
    const labels: Labels = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

const sameLabels = (a: Labels, b: Labels): boolean =>
  Object.keys(a).length === Object.keys(b).length && Object.entries(b).every(([k, v]) => a[k] === v);

export function findSample(samples: Sample[], name: string, labels: Labels): number | undefined {
  return samples.find((s) => s.name === name && sameLabels(s.labels, labels))?.value;
}

/** prom-client: every read is a scrape of a registry of its own, parsed from the text format. */
export const prometheus: Backend = {
  name: 'prometheus (prom-client)',
  collect(sync, options = {}) {
    const registry = new Registry();
    const handle = collectMetrics(sync, { ...options, registry });
    const prefix = options.prefix ?? 'entity_sync_';
    const constant = options.labels ?? {};
    const scrape = async (): Promise<Sample[]> => parseExposition(await registry.metrics());
    return {
      async value(series, labels = {}) {
        return findSample(await scrape(), prometheusName(prefix, SERIES[series]), { ...labels, ...constant });
      },
      async histogram(series, labels) {
        const samples = await scrape();
        const name = prometheusName(prefix, SERIES[series]);
        const count = findSample(samples, `${name}_count`, { ...labels, ...constant });
        return count === undefined ? undefined : { count, sum: findSample(samples, `${name}_sum`, { ...labels, ...constant })! };
      },
      stop: handle.stop,
      close: async () => handle.stop(),
    };
  },
};

/** A reader the test collects from on demand (no export interval). */
class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** OpenTelemetry: a real SDK MeterProvider; every read is a collection. */
export const otel: Backend = {
  name: 'OpenTelemetry (@opentelemetry/sdk-metrics)',
  collect(sync, options = {}) {
    const reader = new OnDemandReader();
    const provider = new MeterProvider({ readers: [reader] });
    const handle = collectOtelMetrics(sync, { ...options, meter: provider.getMeter('test') });
    const prefix = options.prefix ?? 'entity_sync_';
    const constant = options.labels ?? {};
    const points = async (series: SeriesId, labels: Labels) => {
      const { resourceMetrics } = await reader.collect();
      const metric = allMetrics(resourceMetrics).find((m) => m.descriptor.name === prefix + SERIES[series].name);
      const points = (metric?.dataPoints ?? []) as Array<{ attributes: Record<string, unknown>; value: unknown }>;
      return points.find((p) => sameLabels(p.attributes as Labels, { ...labels, ...constant }))?.value;
    };
    return {
      async value(series, labels = {}) {
        return (await points(series, labels)) as number | undefined;
      },
      async histogram(series, labels) {
        return (await points(series, labels)) as { count: number; sum: number } | undefined;
      },
      stop: handle.stop,
      close: async () => {
        handle.stop();
        await provider.shutdown();
      },
    };
  },
};

export function allMetrics(resourceMetrics: ResourceMetrics): MetricData[] {
  return resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
}

/** Collects `sync`'s metrics with `backend`, stopped after the test. */
export function collect(backend: Backend, sync: EntitySync, options?: CommonMetricsOptions): Reading {
  return leftovers.add(backend.collect(sync, options));
}

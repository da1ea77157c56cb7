/**
 * `pnpm --filter @entity-sync/bench metrics`: what `@entity-sync/metrics` costs a node. The same
 * job as `micro` (a node, sockets that only count frames, every key notified in rounds) runs
 * without metrics, with `collectMetrics` (prom-client) and with `collectOtelMetrics` (the
 * OpenTelemetry SDK), interleaved; it prints the CPU time per delivery and the time of a scrape.
 */
import { createEntitySync, type EntitySync, type SocketLike } from '@entity-sync/core';
import { collectMetrics } from '@entity-sync/metrics';
import { collectOtelMetrics } from '@entity-sync/metrics/otel';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { Registry } from 'prom-client';

const CLIENTS = 2_000;
const ROUNDS = 20;
const RUNS = 5;
const SCRAPES = 200;

class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

type Setup = (sync: EntitySync) => (() => Promise<unknown>) | undefined;

const SETUPS: Record<string, Setup> = {
  'no metrics': () => undefined,
  'events only (no-op listeners)': (sync) => {
    for (const e of ['fetch', 'freshness', 'connection', 'bus', 'resync'] as const) sync.on(e, () => {});
    return undefined;
  },
  'prom-client': (sync) => {
    const registry = new Registry();
    collectMetrics(sync, { registry });
    return () => registry.metrics();
  },
  OpenTelemetry: (sync) => {
    const reader = new OnDemandReader();
    collectOtelMetrics(sync, { meter: new MeterProvider({ readers: [reader] }).getMeter('bench') });
    return () => reader.collect();
  },
};

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** CPU µs per delivered frame over ROUNDS notifies of every key, and ms per scrape after them. */
async function measure(setup: Setup): Promise<{ delivery: number; scrape: number }> {
  const sync = createEntitySync();
  let version = 0;
  let sent = 0;
  sync.registerEntity('items', { scope: 'shared', fetch: (key) => ({ id: key.id, version, title: 'an item' }) });
  const scrape = setup(sync);
  const socket: SocketLike = { send: () => void sent++, close: () => {} };
  for (let i = 0; i < CLIENTS; i++) {
    sync.accept(socket, { protocol: 'v1' }).receive(`{"action":"subscribe","body":{"entity":"items","id":"k${i}"},"ref":1}`);
  }
  while (sent < CLIENTS * 2) await tick(); // an ack and a value each
  const before = sent;
  const t = process.cpuUsage();
  for (let r = 0; r < ROUNDS; r++) {
    version++;
    await Promise.all(Array.from({ length: CLIENTS }, (_, i) => sync.notifyAllOfChange({ entity: 'items', id: `k${i}` })));
    await tick();
  }
  const d = process.cpuUsage(t);
  let scrapeMs = Number.NaN;
  if (scrape !== undefined) {
    const start = performance.now();
    for (let i = 0; i < SCRAPES; i++) await scrape();
    scrapeMs = (performance.now() - start) / SCRAPES;
  }
  await sync.close();
  return { delivery: (d.user + d.system) / (sent - before), scrape: scrapeMs };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = new Map<string, Array<{ delivery: number; scrape: number }>>(Object.keys(SETUPS).map((name) => [name, []]));
await measure(SETUPS['no metrics']!); // warm-up
for (let run = 0; run < RUNS; run++) for (const [name, setup] of Object.entries(SETUPS)) results.get(name)!.push(await measure(setup));

const base = median(results.get('no metrics')!.map((r) => r.delivery));
console.log(`CPU µs per notify + delivery, median of ${RUNS} runs, ${CLIENTS} clients on their own keys, no sockets\n`);
console.log('| metrics | µs per delivery | added | one scrape (ms) |');
console.log('|---|---:|---:|---:|');
for (const [name, runs] of results) {
  const delivery = median(runs.map((r) => r.delivery));
  const scrape = Number.isNaN(runs[0]!.scrape) ? '' : median(runs.map((r) => r.scrape)).toFixed(3);
  const added =
    name === 'no metrics'
      ? ''
      : `${delivery - base >= 0 ? '+' : ''}${(delivery - base).toFixed(2)} (${(((delivery - base) / base) * 100).toFixed(0)}%)`;
  console.log(`| ${name} | ${delivery.toFixed(2)} | ${added} | ${scrape} |`);
}
process.exit(0);

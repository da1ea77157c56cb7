import { readFileSync } from 'node:fs';
import { register as globalRegistry, Registry } from 'prom-client';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { collectMetrics, prometheusName, SERIES } from '../src/index.js';
import { connect, findSample, leftovers, parseExposition, startNode, subscribe } from './support.js';

/** What only the prom-client backend has: the scrape text, registries, names, buckets. */
afterEach(leftovers.run);

const NAMES = Object.values(SERIES).map((s) => prometheusName('entity_sync_', s));

async function itemsNode() {
  return startNode((sync) => sync.registerEntity('items', { fetch: (key) => ({ id: key.id }) }));
}

describe('collectMetrics (prom-client)', () => {
  it('exposes every series with HELP and TYPE, and the constant labels on every sample', async () => {
    const node = await itemsNode();
    const registry = new Registry();
    const handle = leftovers.add({ ...collectMetrics(node.sync, { registry, labels: { node: 'n1', region: 'eu' } }), close() {} });
    await subscribe(await connect(node), 'items', '1');
    const text = await registry.metrics();
    expect(handle.names).toEqual(NAMES);
    for (const series of Object.values(SERIES)) {
      const name = prometheusName('entity_sync_', series);
      const type = series.kind === 'counter' ? 'counter' : series.kind;
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
      expect(text).toContain(`# HELP ${name} ${series.help}\n`);
    }
    const samples = parseExposition(text);
    expect(samples.length).toBeGreaterThan(20);
    for (const sample of samples) expect(sample.labels).toMatchObject({ node: 'n1', region: 'eu' });
    expect(findSample(samples, 'entity_sync_connections', { node: 'n1', region: 'eu' })).toBe(1);
    expect(findSample(samples, 'entity_sync_fetches_total', { entity: 'items', outcome: 'ok', node: 'n1', region: 'eu' })).toBe(1);
  });

  it('reads stats() once per scrape, fresh at every scrape', async () => {
    const node = await itemsNode();
    const registry = new Registry();
    leftovers.add({ ...collectMetrics(node.sync, { registry }), close() {} });
    const stats = vi.spyOn(node.sync, 'stats');
    expect(findSample(parseExposition(await registry.metrics()), 'entity_sync_connections', {})).toBe(0);
    expect(stats).toHaveBeenCalledTimes(1);
    await connect(node);
    expect(findSample(parseExposition(await registry.metrics()), 'entity_sync_connections', {})).toBe(1);
    expect(stats).toHaveBeenCalledTimes(2);
  });

  it('histograms use the given buckets (seconds)', async () => {
    const node = await itemsNode();
    const registry = new Registry();
    leftovers.add({ ...collectMetrics(node.sync, { registry, buckets: { fetch: [0.5, 30], freshness: [1, 2, 3] } }), close() {} });
    await subscribe(await connect(node), 'items', '1');
    const samples = parseExposition(await registry.metrics());
    const les = (name: string) => samples.filter((s) => s.name === name).map((s) => s.labels['le']);
    expect(les('entity_sync_fetch_duration_seconds_bucket')).toEqual(['0.5', '30', '+Inf']);
    expect(findSample(samples, 'entity_sync_fetch_duration_seconds_bucket', { entity: 'items', le: '0.5' })).toBe(1);
    expect(findSample(samples, 'entity_sync_fetch_duration_seconds_count', { entity: 'items' })).toBe(1);
    // No change yet: the freshness histogram has no sample, but it is declared.
    expect(les('entity_sync_freshness_seconds_bucket')).toEqual([]);
    expect(await registry.metrics()).toContain('# TYPE entity_sync_freshness_seconds histogram');
  });

  it('one node per registry and prefix; stop() stops counting and frees the names', async () => {
    const node = await itemsNode();
    const registry = new Registry();
    const first = collectMetrics(node.sync, { registry });
    expect(() => collectMetrics(node.sync, { registry })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('"entity_sync_connections" is already registered'),
      }),
    );
    const other = collectMetrics(node.sync, { registry, prefix: 'other_' }); // another prefix is fine
    await subscribe(await connect(node), 'items', '1');
    expect(findSample(parseExposition(await registry.metrics()), 'other_fetches_total', { entity: 'items', outcome: 'ok' })).toBe(1);

    first.stop();
    first.stop(); // idempotent
    other.stop();
    expect(registry.getMetricsAsArray()).toEqual([]);
    const again = collectMetrics(node.sync, { registry });
    const client = await connect(node);
    await subscribe(client, 'items', '2');
    const samples = parseExposition(await registry.metrics());
    expect(findSample(samples, 'entity_sync_fetches_total', { entity: 'items', outcome: 'ok' })).toBe(1); // only since `again`
    expect(findSample(samples, 'entity_sync_connections_opened_total', { protocol: 'v1' })).toBe(1);
    expect(findSample(samples, 'entity_sync_connections', {})).toBe(2); // gauges read the node itself
    again.stop();
  });

  it("registers in prom-client's global registry by default", async () => {
    const node = await itemsNode();
    const handle = collectMetrics(node.sync);
    try {
      expect(handle.registry).toBe(globalRegistry);
      expect(findSample(parseExposition(await globalRegistry.metrics()), 'entity_sync_bus_up', {})).toBe(1);
    } finally {
      handle.stop();
    }
    expect(globalRegistry.getSingleMetric('entity_sync_bus_up')).toBeUndefined();
  });

  it.each(['../../../docs/operations.md', '../README.md'])('%s lists every series', (path) => {
    const doc = readFileSync(new URL(path, import.meta.url), 'utf8');
    for (const name of NAMES) expect(doc, name).toContain(`\`${name}\``);
  });
});

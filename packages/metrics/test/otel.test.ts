import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { MetricReader } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { SERIES } from '../src/index.js';
import { collectOtelMetrics } from '../src/otel.js';
import { allMetrics, connect, leftovers, startNode, subscribe } from './support.js';

/** What only the OpenTelemetry backend has: instrument names, units, bucket advice, stop(). */
afterEach(leftovers.run);

class OnDemandReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

describe('collectOtelMetrics (@opentelemetry/api)', () => {
  it('names each instrument prefix + name with its unit, and advises the histogram buckets', async () => {
    const node = await startNode((sync) => sync.registerEntity('items', { fetch: (key) => ({ id: key.id }) }));
    const reader = new OnDemandReader();
    const provider = new MeterProvider({ readers: [reader] });
    leftovers.add({ close: () => provider.shutdown() });
    const handle = collectOtelMetrics(node.sync, { meter: provider.getMeter('t'), buckets: { fetch: [0.5, 30] } });
    await subscribe(await connect(node), 'items', '1');
    await node.sync.notifyAllOfChange({ entity: 'items', id: '1' });

    const metrics = allMetrics((await reader.collect()).resourceMetrics);
    const byName = new Map(metrics.map((m) => [m.descriptor.name, m]));
    expect(byName.get('entity_sync_fetch_duration')?.descriptor.unit).toBe('s');
    expect(byName.get('entity_sync_sent')?.descriptor.unit).toBe('By');
    expect(byName.get('entity_sync_connections')?.descriptor.description).toBe(SERIES.connections.help);
    const duration = byName.get('entity_sync_fetch_duration')!.dataPoints[0]!.value as { buckets: { boundaries: number[] } };
    expect(duration.buckets.boundaries).toEqual([0.5, 30]);
    // Every stat-read and every fed series that saw an event is there.
    for (const series of Object.values(SERIES)) {
      if ('stat' in series) expect(byName.has(`entity_sync_${series.name}`), series.name).toBe(true);
    }

    expect(byName.get('entity_sync_connections')?.dataPoints[0]?.value).toBe(1);

    handle.stop();
    handle.stop(); // idempotent
    await subscribe(await connect(node), 'items', '2');
    const after = new Map(allMetrics((await reader.collect()).resourceMetrics).map((m) => [m.descriptor.name, m]));
    // Neither the stats nor the events are read any more: the values stay where they were.
    expect(after.get('entity_sync_connections')?.dataPoints[0]?.value ?? 1).toBe(1);
    expect(after.get('entity_sync_fetches')?.dataPoints[0]?.value).toBe(2);
  });
});

import { describe, expect, it } from 'vitest';
import { parseCommonOptions } from './options.js';
import { DEFAULT_BUCKETS, prometheusName, SERIES } from './series.js';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const parse = (options: object) => parseCommonOptions('collectMetrics', options, NAME);
const invalid = (message: string) => expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining(message) });

describe('parseCommonOptions', () => {
  it('defaults: prefix entity_sync_, 1 ms to 10 s buckets, no labels', () => {
    expect(parse({})).toEqual({ prefix: 'entity_sync_', buckets: { fetch: DEFAULT_BUCKETS, freshness: DEFAULT_BUCKETS }, labels: {} });
  });

  it('takes a prefix, buckets per histogram and constant labels', () => {
    const options = parse({ prefix: 'app_sync_', buckets: { freshness: [0.1, 1] }, labels: { node: 'a' } });
    expect(options).toEqual({ prefix: 'app_sync_', buckets: { fetch: DEFAULT_BUCKETS, freshness: [0.1, 1] }, labels: { node: 'a' } });
  });

  it('rejects with INVALID_OPTIONS and says what is wrong', () => {
    expect(() => parse({ prefix: 'bad-prefix' })).toThrow(invalid('collectMetrics: expected `prefix` to match'));
    expect(() => parse({ prefix: 3 })).toThrow(invalid('`prefix`'));
    expect(() => parse({ buckets: { fetch: [] } })).toThrow(invalid('`buckets.fetch`'));
    expect(() => parse({ buckets: { fetch: [1, 0.5] } })).toThrow(invalid('ascending'));
    expect(() => parse({ buckets: { freshness: [0, 1] } })).toThrow(invalid('`buckets.freshness`'));
    expect(() => parse({ buckets: { fetch: [1, Number.POSITIVE_INFINITY] } })).toThrow(invalid('`buckets.fetch`'));
    expect(() => parse({ labels: { 'a-b': 'x' } })).toThrow(invalid('"a-b" is not a valid label name'));
    expect(() => parse({ labels: { __name: 'x' } })).toThrow(invalid('"__name" is not a valid label name'));
    expect(() => parse({ labels: { entity: 'x' } })).toThrow(invalid('"entity" is a label of the series themselves'));
    expect(() => parse({ labels: { node: 1 } })).toThrow(invalid('`labels.node`: expected a string'));
    expect(() => parseCommonOptions('collectMetrics', null as never, NAME)).toThrow(invalid('expected an options object'));
  });
});

describe('series names', () => {
  it('Prometheus names: unit suffix, then _total for counters', () => {
    expect(prometheusName('entity_sync_', SERIES.connections)).toBe('entity_sync_connections');
    expect(prometheusName('entity_sync_', SERIES.fetches)).toBe('entity_sync_fetches_total');
    expect(prometheusName('entity_sync_', SERIES.bytesSent)).toBe('entity_sync_sent_bytes_total');
    expect(prometheusName('x_', SERIES.freshness)).toBe('x_freshness_seconds');
  });
});

import { EntitySyncError } from '@entity-sync/core';
import { DEFAULT_BUCKETS, SERIES_LABELS } from './series.js';

/** Options every backend shares. */
export interface CommonMetricsOptions {
  /** Prepended to every series name. @default 'entity_sync_' */
  prefix?: string;
  /**
   * Histogram bucket upper bounds in seconds, ascending: `fetch` for `fetch_duration`,
   * `freshness` for `freshness`. @default 1 ms to 10 s: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
   */
  buckets?: { fetch?: readonly number[]; freshness?: readonly number[] };
  /**
   * Constant labels added to every series, such as `{ node: 'eu-1' }`. They may not be named like
   * a series' own labels (`entity`, `outcome`, `reason`, `protocol`, `code`, `status`). @default {}
   */
  labels?: Readonly<Record<string, string>>;
}

export interface ResolvedCommonOptions {
  prefix: string;
  buckets: { fetch: number[]; freshness: number[] };
  labels: Record<string, string>;
}

const LABEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Validates the shared options; `namePattern` is what the backend accepts as a name. */
export function parseCommonOptions(where: string, options: CommonMetricsOptions, namePattern: RegExp): ResolvedCommonOptions {
  const fail = (message: string): never => {
    throw new EntitySyncError('INVALID_OPTIONS', `${where}: ${message}`);
  };
  if (typeof options !== 'object' || options === null) fail('expected an options object');
  const prefix = options.prefix ?? 'entity_sync_';
  if (typeof prefix !== 'string' || !namePattern.test(`${prefix}x`))
    fail(`expected \`prefix\` to match ${namePattern}, got ${JSON.stringify(prefix)}`);
  const labels = { ...(options.labels ?? {}) };
  for (const [name, value] of Object.entries(labels)) {
    if (!LABEL_NAME.test(name) || name.startsWith('__')) fail(`\`labels\`: ${JSON.stringify(name)} is not a valid label name`);
    if (SERIES_LABELS.has(name)) fail(`\`labels\`: ${JSON.stringify(name)} is a label of the series themselves`);
    if (typeof value !== 'string') fail(`\`labels.${name}\`: expected a string, got ${typeof value}`);
  }
  return {
    prefix,
    buckets: { fetch: buckets('fetch', options.buckets?.fetch, fail), freshness: buckets('freshness', options.buckets?.freshness, fail) },
    labels,
  };
}

function buckets(name: string, value: readonly number[] | undefined, fail: (message: string) => never): number[] {
  if (value === undefined) return [...DEFAULT_BUCKETS];
  const ok =
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((b, i) => typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > value[i - 1]!));
  return ok ? [...value] : fail(`expected \`buckets.${name}\` to be a non-empty list of ascending positive numbers (seconds)`);
}

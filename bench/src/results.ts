import type { Metric } from './scenario.js';
import { type Spread, spread } from './stats.js';
import { TARGETS, type TargetSpec } from './targets/index.js';

/** Figures of every run: scenario name -> target id -> one record (or error) per run. */
export class Results {
  readonly runs = new Map<string, Map<string, Array<Record<string, number> | string>>>();

  add(scenario: string, target: string, result: Record<string, number> | string): void {
    let byTarget = this.runs.get(scenario);
    if (!byTarget) this.runs.set(scenario, (byTarget = new Map()));
    const list = byTarget.get(target) ?? [];
    list.push(result);
    byTarget.set(target, list);
  }

  targetsOf(scenario: string): TargetSpec[] {
    const byTarget = this.runs.get(scenario);
    return TARGETS.filter((t) => byTarget?.has(t.id));
  }

  /** The first error of a target that never produced figures, if any. */
  error(scenario: string, target: string): string | undefined {
    const list = this.runs.get(scenario)?.get(target) ?? [];
    return list.every((r) => typeof r === 'string') ? (list[0] as string | undefined) : undefined;
  }

  spread(scenario: string, target: string, metric: string): Spread {
    const list = this.runs.get(scenario)?.get(target) ?? [];
    return spread(list.flatMap((r) => (typeof r === 'string' ? [] : [r[metric] ?? NaN])));
  }

  /** Median of `target` over the median of its hand-written baseline (same broker). */
  ratio(scenario: string, target: TargetSpec, metric: string): number {
    return this.spread(scenario, target.id, metric).median / this.spread(scenario, target.baseline, metric).median;
  }

  /** Every run that threw, as `scenario target: message`. A missing broker binary says "not found". */
  failures(): string[] {
    return [...this.runs].flatMap(([scenario, byTarget]) =>
      [...byTarget].flatMap(([target, list]) => list.filter((r) => typeof r === 'string').map((r) => `${scenario} ${target}: ${r}`)),
    );
  }

  toJSON(): unknown {
    return Object.fromEntries([...this.runs].map(([s, m]) => [s, Object.fromEntries(m)]));
  }
}

/** Whether a ratio meets a metric's goal (`<= goal` when lower is better, `>= goal` otherwise). */
export function meets(metric: Metric, ratio: number): boolean {
  return metric.better === 'lower' ? ratio <= metric.goal! : ratio >= metric.goal!;
}

export function formatValue(metric: Metric, value: number): string {
  if (!Number.isFinite(value)) return 'n/a';
  if (metric.format) return metric.format(value);
  const digits = metric.digits ?? 1;
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}
